//go:build !race

package reliability

// raceDetector is set when the tests run under the race detector (-race).
const raceDetector = false
