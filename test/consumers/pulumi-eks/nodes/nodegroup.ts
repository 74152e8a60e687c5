// The type of pulumi/pulumi-eks v4.3.0 nodejs/eks/nodes/nodegroup.ts that userdata.ts uses (Apache-2.0, see ../LICENSE).
import * as pulumi from "@pulumi/pulumi";
export interface NodeadmOptions {
  content: pulumi.Input<string>;
  contentType: pulumi.Input<string>;
}
