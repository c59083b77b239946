/**
 * "Did you mean": the closest spellings of a mistyped name (a flag, a command, an op, a field) for
 * error messages that name the fix. Used by every layer that refuses a name, so it imports nothing.
 */
/** Every candidate within edit distance 2 (or a prefix match) of `word`, the closest ones only. */
export function closestAll(word: string, candidates: readonly string[]): string[] {
  let best: string[] = [];
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = c.startsWith(word) || word.startsWith(c) ? Math.min(2, Math.abs(c.length - word.length)) : levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = [c];
    } else if (d === bestD && !best.includes(c)) best.push(c);
  }
  return bestD <= 2 ? best : [];
}

/** The closest candidate (the first of equally close ones), for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return closestAll(word, candidates)[0];
}

/** ` (did you mean "a" or "b"?)` naming every equally close candidate, or '' when none is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const all = closestAll(word, candidates);
  if (all.length === 0) return '';
  const quoted = all.map((c) => `"${c}"`);
  return ` (did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`}?)`;
}

function levenshtein(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
