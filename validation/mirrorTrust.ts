import { ConfigProblem } from "./problems";
import type { NodeGroupSettings, SettingNamer } from "./nodeGroup";

/** `url` with any `user:password@` replaced by `***@`: what messages may show of a URL. */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#]*@/, "$1***@");
}

/**
 * A release mirror URL must not carry userinfo (`user:token@`, or a bare `name@`): the URL lands in the user data
 * (readable through IMDS by any process on the node), in the stack's state (the `userData` output is not secret)
 * and in the installer's log. And `https://github.com@evil.example/` names evil.example as its host: a user part
 * that looks like a host is how such URLs mislead.
 */
export function mirrorUrlProblems(s: Pick<NodeGroupSettings, "sociMirrorUrl">, name: SettingNamer): ConfigProblem[] {
  let parsed: URL;
  try {
    parsed = new URL(s.sociMirrorUrl);
  } catch {
    return []; // the URL's shape is checked with the release settings
  }
  if (parsed.username === "" && parsed.password === "" && !/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*@/.test(s.sociMirrorUrl)) return [];
  const user = decodeURIComponent(parsed.username);
  const looksLikeHost = /\./.test(user) && parsed.password === "";
  return [
    {
      setting: name("sociMirrorUrl"),
      value: withoutUserinfo(s.sociMirrorUrl),
      reason: looksLikeHost
        ? `has a user part ('${user}@') before its host: the host is ${parsed.hostname}, not ${user}`
        : "has credentials (user:password@) in it; the URL is readable in the user data (IMDS), the stack's state and the node's logs",
      fix: `Set ${name("sociMirrorUrl")} to a URL without '@' before the host${looksLikeHost ? `, e.g. https://${user}/...` : ": serve the mirror without credentials (a private network path, or a bucket that allows the node role)"}.`,
    },
  ];
}
