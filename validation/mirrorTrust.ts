import { isIPv6 } from "net";
import { ConfigProblem } from "./problems";
import type { NodeGroupSettings, SettingNamer } from "./nodeGroup";

/**
 * Characters safe in the installer's env file, where the URL is written single-quoted and sourced by bash (a subset
 * of what userdata/cloudConfig.ts renderEnvFile accepts). `[` and `]` only around an IPv6 host: see {@link IPV6_HOST}.
 */
const URL_SAFE = /^[A-Za-z0-9._:/@+=,-]+$/;
/**
 * `scheme://[IPv6]` (then `:port`, `/` or the end): the only place brackets may stand. The installer hands the URL to
 * curl, which reads a bracketed IPv6 literal as a host (test/unit/installer.test.ts downloads from `[::1]`).
 */
const IPV6_HOST = /^(https?:\/\/)\[([0-9A-Fa-f:.]+)\](?=:\d+(?:\/|$)|\/|$)/;

/** The schemes whose name {@link withoutUserinfo} keeps in view (any other text before the last '@' is hidden). */
const SHOWN_SCHEME = /^(\s*(?:https?|ftp|s3|oci):)/i;

/**
 * What messages and logs may show of a URL-like value: everything between the scheme and the LAST '@' is replaced by
 * `***`, whatever separates them (`//`, `\\`, nothing) and whatever the user part holds (`/`, `?`, `#`, `:`). Without
 * a known scheme, everything before the last '@' is hidden. It hides more than the userinfo when the path, query or
 * fragment hold an '@' (e.g. `https://***@x` for `https://host/a@x`): a message may lose detail, never a secret.
 */
export function withoutUserinfo(url: string): string {
  const at = url.lastIndexOf("@");
  if (at < 0) return url;
  const scheme = SHOWN_SCHEME.exec(url)?.[1] ?? "";
  const slashes = /^[/\\]*/.exec(url.slice(scheme.length))![0];
  return `${scheme}${slashes}***${url.slice(at)}`;
}

/**
 * The shape of a release mirror base URL: `http://` or `https://` written in lowercase (the installer tells the two
 * apart by those exact bytes: `HTTP://` would be fetched as https-only and fail on every node), a host (a name, an IPv4
 * address or a bracketed IPv6 address), no query or fragment, and only characters the env file carries.
 */
export function mirrorShapeProblems(url: string, name: SettingNamer): ConfigProblem[] {
  const setting = name("sociMirrorUrl");
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const ipv6 = IPV6_HOST.exec(url);
  const unbracketed = ipv6 && isIPv6(ipv6[2]) ? `${ipv6[1]}ipv6-host${url.slice(ipv6[0].length)}` : url;
  const shapeOk =
    parsed !== undefined && (parsed.protocol === "https:" || parsed.protocol === "http:") && URL_SAFE.test(unbracketed) && !parsed.search && !parsed.hash;
  const prefix = shapeOk ? `${parsed!.protocol}//` : "";
  if (shapeOk && !url.startsWith(prefix) && url.slice(0, prefix.length).toLowerCase() === prefix) {
    const lower = `${prefix}${url.slice(prefix.length)}`;
    return [
      {
        setting,
        value: withoutUserinfo(url),
        reason: `has its scheme in capitals; the installer on the node recognises ${prefix} only in lowercase, so every download would fail`,
        fix: `Write the scheme lowercase: set ${setting} to ${withoutUserinfo(lower)}.`,
      },
    ];
  }
  if (!shapeOk || !url.startsWith(prefix)) {
    const brackets = /[[\]]/.test(unbracketed) ? " ([ ] only around an IPv6 host, e.g. https://[2001:db8::1]:8443/soci)" : "";
    return [
      {
        setting,
        value: withoutUserinfo(url),
        reason: `is not an http(s) base URL made of A-Z a-z 0-9 . _ : / @ + = , - (no query or fragment)${brackets}`,
        fix: `Set ${setting} to the base that holds v<version>/soci-snapshotter-<version>-linux-<arch>.tar.gz, e.g. https://github.com/awslabs/soci-snapshotter/releases/download, or unset it.`,
      },
    ];
  }
  return [];
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
  if (parsed.username === "" && parsed.password === "" && !/^\s*[a-zA-Z][a-zA-Z0-9+.-]*:[/\\]*[^/\\?#]*@/.test(s.sociMirrorUrl)) return [];
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
