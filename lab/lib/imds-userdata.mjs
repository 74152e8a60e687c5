// A loopback IMDSv2 stand-in that serves one user-data file, for nodeadm's imds://user-data source.
// Usage: node imds-userdata.mjs <userDataFile> <port>   (binds 127.0.0.1 only; exits on SIGTERM)
import { readFileSync } from "node:fs";
import http from "node:http";

const [file, port] = process.argv.slice(2);
const body = readFileSync(file);
http
  .createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      const ttl = req.headers["x-aws-ec2-metadata-token-ttl-seconds"] ?? "21600";
      return res.writeHead(200, { "x-aws-ec2-metadata-token-ttl-seconds": ttl }).end("lab-token");
    }
    if (req.url === "/latest/user-data" && req.headers["x-aws-ec2-metadata-token"] === "lab-token") return res.end(body);
    res.writeHead(404).end();
  })
  .listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
