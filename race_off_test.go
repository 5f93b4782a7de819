//go:build !race

package bitnet

const raceEnabled = false
