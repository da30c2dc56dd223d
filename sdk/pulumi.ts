// The parts of @pulumi/pulumi the SDK uses, from its submodules. Its index also loads the
// Automation API and the dynamic provider eagerly (1.1 s of the provider plugin's ~2 s start on a
// loaded 2-core machine, and the plugin starts for every engine operation), while the plugin
// needs the SDK's modules only for their schemas. Same classes as the index exports.
export { ComponentResource, CustomResource, Resource } from "@pulumi/pulumi/resource";
export type { ComponentResourceOptions, CustomResourceOptions } from "@pulumi/pulumi/resource";
export { Output, all, output, secret } from "@pulumi/pulumi/output";
export type { Input } from "@pulumi/pulumi/output";
