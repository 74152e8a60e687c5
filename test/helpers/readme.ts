import { mkdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";

/** One fenced TypeScript code block of a Markdown file. */
export interface TsBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** Every ```ts / ```typescript block of a Markdown text, in order. */
export function tsBlocks(markdown: string): TsBlock[] {
  return fencedBlocks(markdown, ["ts", "typescript"]);
}

/** Every fenced block of a Markdown text whose info string is one of `languages`, in order. */
export function fencedBlocks(markdown: string, languages: string[]): TsBlock[] {
  const blocks: TsBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+)\s*(\S+)\s*$/.exec(lines[i]);
    if (!open || !languages.includes(open[3])) continue;
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j].trim() !== fence; j++) body.push(lines[j]);
    if (j === lines.length) throw new Error(`line ${i + 1}: unterminated code block`);
    blocks.push({ line: i + 1, code: body.join("\n") + "\n" });
    i = j;
  }
  return blocks;
}

/**
 * File name for a block: `readme-L<line>.ts` (or `<page>-L<line>.ts` for a docs page), so a compiler error points
 * back at the Markdown line.
 */
export function blockFileName(block: TsBlock, page = "readme"): string {
  return `${page}-L${block.line}.ts`;
}

/** Writes each block of `markdownFile` into `dir` as its own module; returns the file names. */
export function writeTsBlocks(markdownFile: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return tsBlocks(readFileSync(markdownFile, "utf8")).map((b) => {
    const name = blockFileName(b);
    writeFileSync(path.join(dir, name), b.code);
    return name;
  });
}
