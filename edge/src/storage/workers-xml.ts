import { DOMParser, Node } from "@xmldom/xmldom";

/**
 * Workers only. Bundled for workerd, the AWS SDK takes its browser XML parser, which needs the
 * global DOMParser and Node that browsers have and workerd lacks (aws/aws-sdk-js-v3#7375): every S3
 * answer with an XML body (listings, multi-deletes, error bodies) would throw "DOMParser is not
 * defined". xmldom supplies both. Imported by worker.ts before anything uses the SDK; Node never
 * loads it (the SDK's Node build parses XML itself).
 */
const g = globalThis as Record<string, unknown>;
g.DOMParser ??= DOMParser;
g.Node ??= Node;
