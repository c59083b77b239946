/**
 * HTML escaping for everything ptlab writes into HTML (tables, reports). Experiment names, variant
 * names, step labels and spec text are user input: a variant named `</script><script>…` must stay
 * text. `&` first so existing entities are not double-decoded.
 */
export function escapeHtml(text: unknown): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * JSON for a `<script type="application/json">` block. HTML ends a script element at the first
 * `</script` whatever the type, and `<!--` can change how the parser scans it, so every `<` (and
 * `>`, `&`, and the JS line separators U+2028/U+2029) becomes a \u escape: still the same JSON value.
 */
export function jsonForScript(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
