/**
 * Shrinks shell scripts and systemd units for the node: full-line `#` comments go (the first line of a
 * script, its `#!`, stays), so that the user data fits EC2's 16 KiB with room for a merger's part.
 * The commented originals live in the package (userdata/scripts, userdata/units); the node gets one
 * line pointing at them. Heredocs could hold `#` lines that are data, so a file with one is refused.
 */
export function stripFullLineComments(text: string, source: string): string {
  if (/<<(?!<)-?\s*['"]?[A-Za-z_]/.test(text)) {
    throw new Error(`${source} has a heredoc: its lines cannot be told from comments, so it cannot be compacted`);
  }
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith("#!")) {
      out.push(line, `# soci-eks ${source} (comments stripped; the commented file is in the soci-eks package)`);
      return;
    }
    if (/^\s*#/.test(line)) return;
    out.push(line);
  });
  return out.join("\n");
}
