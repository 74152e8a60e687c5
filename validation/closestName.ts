/**
 * Edit distance between two names, case-insensitive: insertions, deletions, substitutions, and two neighbouring
 * letters swapped (optimal string alignment), so `mdoe` is one edit from `mode`.
 */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/**
 * The known name closest to `name`, when it is close enough to be a typo (at most a third of its letters differ,
 * or one contains the other); otherwise undefined. Ties go to the first in `known`.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const lower = name.toLowerCase();
  const contains = lower.length >= 3 && (best.toLowerCase().includes(lower) || lower.includes(best.toLowerCase()));
  return bestDistance <= Math.max(1, Math.floor(Math.max(name.length, best.length) / 3)) || contains ? best : undefined;
}
