module github.com/org/bitnet

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	github.com/x448/float16 v0.8.4
	golang.org/x/exp v0.0.0-20261120182113-8801fbdfac81
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
