package tmpdeps

import (
	_ "github.com/stretchr/testify/require"
	_ "github.com/x448/float16"
	_ "golang.org/x/exp/constraints"
)
