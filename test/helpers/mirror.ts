import { createHash } from "crypto";
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import * as path from "path";

/** A loopback HTTP server that serves files from a map and counts requests per path. */
export class LoopbackServer {
  readonly requests = new Map<string, number>();
  private server: http.Server;
  private files = new Map<string, Buffer>();

  constructor(private readonly handler?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean) {
    this.server = http.createServer((req, res) => {
      const url = req.url ?? "/";
      this.requests.set(url, (this.requests.get(url) ?? 0) + 1);
      if (this.handler && this.handler(req, res)) return;
      const body = this.files.get(url.split("?")[0]);
      if (!body) {
        res.writeHead(404).end("not found\n");
        return;
      }
      res.writeHead(200, { "Content-Length": body.length }).end(body);
    });
  }

  serve(urlPath: string, body: Buffer | string): void {
    this.files.set(urlPath, Buffer.isBuffer(body) ? body : Buffer.from(body));
  }

  /** Listens on a free port of `host` (default 127.0.0.1; `::1` for IPv6 loopback) and returns its base URL. */
  async start(host = "127.0.0.1"): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, host, resolve);
    });
    const port = (this.server.address() as AddressInfo).port;
    return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  totalRequests(): number {
    return [...this.requests.values()].reduce((a, b) => a + b, 0);
  }
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Builds a release tarball with upstream's layout (soci, soci-snapshotter-grpc, THIRD_PARTY_LICENSES,
 * NOTICE.md at the top level). The binaries are stand-ins that print a version: the installer only
 * moves and checks them; the node lab installs the real ones.
 */
export function fakeReleaseTarball(version: string): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), "soci-release-"));
  for (const bin of ["soci", "soci-snapshotter-grpc"]) {
    writeFileSync(path.join(dir, bin), `#!/bin/sh\necho "${bin} version v${version} (stand-in)"\n`);
    chmodSync(path.join(dir, bin), 0o755);
  }
  writeFileSync(path.join(dir, "THIRD_PARTY_LICENSES"), "stand-in\n");
  writeFileSync(path.join(dir, "NOTICE.md"), "stand-in\n");
  const out = path.join(dir, "release.tar.gz");
  execFileSync("tar", ["-czf", out, "-C", dir, "soci", "soci-snapshotter-grpc", "THIRD_PARTY_LICENSES", "NOTICE.md"]);
  return readFileSync(out);
}

/** A loopback IMDSv2 stand-in: a token, then the instance identity document. */
export function imdsHandler(accountId: string, region: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (req.url === "/latest/api/token" && req.method === "PUT") {
      res.writeHead(200).end("lab-token");
      return true;
    }
    if (req.url === "/latest/dynamic/instance-identity/document") {
      if (req.headers["x-aws-ec2-metadata-token"] !== "lab-token") {
        res.writeHead(401).end();
        return true;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ accountId, region }));
      return true;
    }
    return false;
  };
}

export function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}
