package models

import "math"

// Slaney's mel scale as librosa implements it (htk=False): linear below 1 kHz,
// logarithmic above. Whisper's own filters were built this way, so a generated
// model's front end matches a real one.
const (
	melFSp       = 200.0 / 3
	melMinLogHz  = 1000.0
	melMinLogMel = melMinLogHz / melFSp
)

var melLogStep = math.Log(6.4) / 27.0

func hzToMel(f float64) float64 {
	if f < melMinLogHz {
		return f / melFSp
	}
	return melMinLogMel + math.Log(f/melMinLogHz)/melLogStep
}

func melToHz(m float64) float64 {
	if m < melMinLogMel {
		return m * melFSp
	}
	return melMinLogHz * math.Exp(melLogStep*(m-melMinLogMel))
}

// MelFilters returns an nMels × (nFFT/2+1) filter bank, row-major, with
// triangular filters spaced on the Slaney mel scale from 0 Hz to the Nyquist
// frequency and Slaney area normalisation (each filter's area is constant).
func MelFilters(sampleRate, nFFT, nMels int) []float32 {
	nBins := nFFT/2 + 1
	fftFreqs := make([]float64, nBins)
	for i := range fftFreqs {
		fftFreqs[i] = float64(i) * float64(sampleRate) / float64(nFFT)
	}
	maxMel := hzToMel(float64(sampleRate) / 2)
	melF := make([]float64, nMels+2)
	for i := range melF {
		melF[i] = melToHz(maxMel * float64(i) / float64(nMels+1))
	}
	out := make([]float32, nMels*nBins)
	for m := 0; m < nMels; m++ {
		lowDiff := melF[m+1] - melF[m]
		highDiff := melF[m+2] - melF[m+1]
		enorm := 2 / (melF[m+2] - melF[m])
		for k, f := range fftFreqs {
			lower := (f - melF[m]) / lowDiff
			upper := (melF[m+2] - f) / highDiff
			w := math.Max(0, math.Min(lower, upper))
			out[m*nBins+k] = float32(w * enorm)
		}
	}
	return out
}
