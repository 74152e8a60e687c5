module soci-eks.local/lab/tools/karpenter-merge

go 1.26.11

require github.com/aws/karpenter-provider-aws v1.15.2

require github.com/awslabs/amazon-eks-ami/nodeadm v0.0.0-20240229193347-cfab22a10647 // indirect

// v1.15.1 (what karpenter-provider-aws v1.15.2 asks for) is refused by the module proxy (403).
replace sigs.k8s.io/karpenter => sigs.k8s.io/karpenter v1.15.0
