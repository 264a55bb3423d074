package loadgen

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Latency summarises a set of timings (an amoc "time" metric).
type Latency struct {
	Count int
	Mean  time.Duration
	P50   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize computes a Latency from samples, sorting them in place.
// Percentiles are nearest-rank: P99 is a sample that at least 99% of all
// samples do not exceed.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(samples)))) - 1
		return samples[max(0, i)]
	}
	return Latency{
		Count: len(samples),
		Mean:  sum / time.Duration(len(samples)),
		P50:   rank(0.50),
		P99:   rank(0.99),
		Max:   samples[len(samples)-1],
	}
}

// MarshalJSON writes the timings in milliseconds, the unit amoc reports.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count  int     `json:"count"`
		MeanMs float64 `json:"mean_ms"`
		P50Ms  float64 `json:"p50_ms"`
		P99Ms  float64 `json:"p99_ms"`
		MaxMs  float64 `json:"max_ms"`
	}{l.Count, ms(l.Mean), ms(l.P50), ms(l.P99), ms(l.Max)})
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// rate is events per unit of time over d, 0 for an empty interval.
func rate(n int64, d, unit time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) * float64(unit) / float64(d)
}
