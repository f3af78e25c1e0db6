//go:build !race

package agent

// raceDetector is set when the tests run under the race detector (-race).
const raceDetector = false
