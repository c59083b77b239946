/**
 * The JSON Schema of ExperimentSpec for editors (docs/spec.schema.json; point a spec's "$schema"
 * at it for completion and inline errors). Generated from the zod schema so the two never drift;
 * test/lab-schema.test.ts fails when the checked-in file is stale.
 */
import { z } from 'zod';
import { ExperimentSpecSchema } from './spec';

export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ExperimentSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'ptlab experiment spec' };
}

/** The file's text: stable formatting, trailing newline. */
export function specJsonSchemaText(): string {
  return JSON.stringify(specJsonSchema(), null, 2) + '\n';
}
