module soci-eks.local/lab/tools/nodeadm-sim

go 1.24

require (
	dario.cat/mergo v1.0.2
	github.com/pelletier/go-toml/v2 v2.2.4
	gopkg.in/yaml.v3 v3.0.1
)
