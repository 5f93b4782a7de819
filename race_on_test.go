//go:build race

package bitnet

const raceEnabled = true
