/**
 * Preloaded by toyCliEnv() (./toy-cli) into a `ptlab` child process and its worker threads: the
 * runner and the workers call simulateRun through the module object of src/lab/simulate, the
 * same one this require gets, so they run the toy (./toy-simulate, not a model).
 */
import * as simulate from '../../src/lab/simulate';
import { simulateRun } from './toy-simulate';

(simulate as { simulateRun: unknown }).simulateRun = simulateRun;
