/**
 * Shrinks shell scripts and systemd units for the node: full-line `#` comments go (the first line of a
 * script, its `#!`, stays), so that the user data fits EC2's 16 KiB with room for a merger's part.
 * The commented originals live in the package (userdata/scripts, userdata/units); the node gets one
 * line naming the original (`# soci-eks userdata/scripts/<name>, compacted`). Heredocs could hold `#` lines that are data, so a file with one is refused.
 */
export function stripFullLineComments(text: string, source: string): string {
  if (/<<(?!<)-?\s*['"]?[A-Za-z_]/.test(text)) {
    throw new Error(`${source} has a heredoc: its lines cannot be told from comments, so it cannot be compacted`);
  }
  const lines = text.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith("#!")) {
      out.push(line, `# soci-eks ${source}, compacted`);
      return;
    }
    if (/^\s*#/.test(line)) return;
    out.push(line);
  });
  return out.join("\n");
}

/** Where a bash line ends: outside any quote, or inside a single-, double- or `$'...'`-quoted string. */
type QuoteState = "none" | "single" | "double" | "ansi";

/**
 * The quote state after `line`, starting in `state`. A small lexer of bash's quoting (backslash escapes, `'...'`,
 * `"..."`, `$'...'`, comments from a `#` that starts a word); nested quotes inside `$(...)` within double quotes are
 * not followed, which only matters for a command substitution spanning lines inside a string.
 */
export function quoteStateAfter(line: string, state: QuoteState): QuoteState {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state === "single") {
      if (c === "'") state = "none";
    } else if (state === "ansi" || state === "double") {
      if (c === "\\") i++;
      else if ((state === "ansi" && c === "'") || (state === "double" && c === '"')) state = "none";
    } else if (c === "\\") {
      i++;
    } else if (c === "'") {
      state = line[i - 1] === "$" ? "ansi" : "single";
    } else if (c === '"') {
      state = "double";
    } else if (c === "#" && (i === 0 || /[\s;&|()]/.test(line[i - 1]))) {
      break;
    }
  }
  return state;
}

/**
 * A bash script as the node gets it: full-line comments and empty lines dropped and every other line without its
 * leading and trailing blanks, except lines inside a multi-line quoted string, which stay as they are. Bash reads the
 * same program (indentation and blank lines are not part of its grammar); a test compares `bash --pretty-print` of
 * every shipped script before and after. The first line (`#!`) stays; the commented original is in the package
 * (userdata/scripts). A script with a heredoc is refused, as by {@link stripFullLineComments}.
 */
export function compactShellScript(text: string, source: string): string {
  stripFullLineComments(text, source); // refuses heredocs
  const [first, ...rest] = text.split("\n");
  const out = [first];
  let state: QuoteState = first.startsWith("#!") ? "none" : quoteStateAfter(first, "none");
  for (const line of rest) {
    if (state === "none") {
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) continue;
      out.push(trimmed);
      state = quoteStateAfter(trimmed, state);
    } else {
      out.push(line);
      state = quoteStateAfter(line, state);
    }
  }
  if (state !== "none") throw new Error(`${source}: a quoted string is not closed at the end of the script`);
  return out.join("\n") + (text.endsWith("\n") ? "\n" : "");
}
