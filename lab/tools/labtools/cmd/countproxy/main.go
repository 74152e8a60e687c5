// Command countproxy is a reverse proxy in front of the lab registry that counts the
// response body bytes it relays (the bytes "served by the registry" to the node).
// GET /__lab/bytes returns {"bytes":N,"requests":M}; POST /__lab/reset zeroes them.
// POST /__lab/fail?path=P&agent=A&count=N answers the next N requests whose URL path contains P and
// whose User-Agent contains A with 503 (fault injection for lab experiments); count=0 clears the rule.
// Optional: status=5xx (the status to answer, default 503) and range=1 (only requests with a Range
// header: SOCI's span fetches, not its manifest, index or zTOC fetches).
//
// Link shaping for the bench (flags, or POST /__lab/shape?rate=R&conn_rate=C&ttfb_ms=T at run time; 0 = off):
// -rate caps the bytes/s of all response bodies together (a shared token bucket: the link), -conn-rate caps
// each response body on its own (a per-connection limit like an object store's: HTTP/1.1 carries one response at a
// time per connection), -ttfb-ms delays every registry request before it is forwarded (added time to first byte).
// GET /__lab/bytes also reports range requests and the shaping in force.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var bytesOut, requests, rangeRequests, failed atomic.Int64

// bucket is a token bucket in bytes/s; take reserves n bytes and sleeps off any debt, so concurrent
// readers share the rate. A rate of 0 or less is no limit.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

// An idle bucket saves up at most 10 ms of its rate (at least 64 KiB): enough to absorb the oversleep of
// time.Sleep (a cap of a few reads held 125 MB/s down to ~80 MB/s), small enough to stay a rate.
func (b *bucket) burst() float64 { return max(b.rate/100, 64<<10) }

func (b *bucket) take(n int) {
	b.mu.Lock()
	if b.rate <= 0 {
		b.mu.Unlock()
		return
	}
	now := time.Now()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if bu := b.burst(); b.tokens > bu {
		b.tokens = bu
	}
	b.last = now
	b.tokens -= float64(n)
	debt := -b.tokens
	rate := b.rate
	b.mu.Unlock()
	if debt > 0 {
		time.Sleep(time.Duration(debt / rate * float64(time.Second)))
	}
}

// shaping holds the link settings in force; new responses read them when they start.
type shaping struct {
	mu       sync.Mutex
	link     bucket
	connRate float64
	ttfb     time.Duration
}

func (s *shaping) set(rate, connRate float64, ttfb time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link.mu.Lock()
	s.link.rate, s.link.tokens, s.link.last = rate, 0, time.Now()
	s.link.mu.Unlock()
	s.connRate, s.ttfb = connRate, ttfb
}

func (s *shaping) get() (float64, float64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link.mu.Lock()
	defer s.link.mu.Unlock()
	return s.link.rate, s.connRate, s.ttfb
}

var shape shaping

// failRule makes matching requests fail with 503, a limited number of times.
type failRule struct {
	mu          sync.Mutex
	path, agent string
	left        int
	status      int
	rangeOnly   bool
}

func (f *failRule) set(path, agent string, count, status int, rangeOnly bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.path, f.agent, f.left, f.status, f.rangeOnly = path, agent, count, status, rangeOnly
}

// take returns the status r must fail with (0: pass it on), using up one of the rule's failures.
func (f *failRule) take(r *http.Request) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left <= 0 || !strings.Contains(r.URL.Path, f.path) || !strings.Contains(r.UserAgent(), f.agent) ||
		(f.rangeOnly && r.Header.Get("Range") == "") {
		return 0
	}
	f.left--
	return f.status
}

// countingBody counts the bytes it relays and paces them through the link's bucket and its own.
type countingBody struct {
	io.ReadCloser
	conn *bucket
}

func (c countingBody) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10] // small steps keep the pacing smooth
	}
	n, err := c.ReadCloser.Read(p)
	bytesOut.Add(int64(n))
	if n > 0 {
		shape.link.take(n)
		c.conn.take(n)
	}
	return n, err
}

func parseRate(v string) (float64, error) {
	if v == "" {
		return 0, nil
	}
	return strconv.ParseFloat(v, 64)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:5001", "listen address")
	target := flag.String("target", "http://127.0.0.1:5000", "registry URL")
	verbose := flag.Bool("v", false, "log each request")
	rate := flag.Float64("rate", 0, "bytes/s of all response bodies together (0: no limit)")
	connRate := flag.Float64("conn-rate", 0, "bytes/s of each response body (0: no limit)")
	ttfb := flag.Int("ttfb-ms", 0, "milliseconds added before each registry request is forwarded")
	flag.Parse()
	shape.set(*rate, *connRate, time.Duration(*ttfb)*time.Millisecond)
	u, err := url.Parse(*target)
	if err != nil {
		log.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		requests.Add(1)
		if r.Request.Header.Get("Range") != "" {
			rangeRequests.Add(1)
		}
		if *verbose {
			log.Printf("%s %s range=%q -> %d len=%d agent=%q", r.Request.Method, r.Request.URL.Path, r.Request.Header.Get("Range"), r.StatusCode, r.ContentLength, r.Request.UserAgent())
		}
		_, cr, _ := shape.get()
		r.Body = countingBody{r.Body, &bucket{rate: cr, last: time.Now()}}
		return nil
	}
	var rule failRule
	mux := http.NewServeMux()
	mux.HandleFunc("/__lab/bytes", func(w http.ResponseWriter, _ *http.Request) {
		lr, cr, tt := shape.get()
		fmt.Fprintf(w, "{\"bytes\":%d,\"requests\":%d,\"range_requests\":%d,\"failed\":%d,\"rate\":%.0f,\"conn_rate\":%.0f,\"ttfb_ms\":%d}\n",
			bytesOut.Load(), requests.Load(), rangeRequests.Load(), failed.Load(), lr, cr, tt.Milliseconds())
	})
	mux.HandleFunc("/__lab/shape", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lr, err1 := parseRate(q.Get("rate"))
		cr, err2 := parseRate(q.Get("conn_rate"))
		tt, err3 := strconv.Atoi(q.Get("ttfb_ms"))
		if q.Get("ttfb_ms") == "" {
			tt, err3 = 0, nil
		}
		if err1 != nil || err2 != nil || err3 != nil || lr < 0 || cr < 0 || tt < 0 {
			http.Error(w, "want rate=BYTES_PER_S&conn_rate=BYTES_PER_S&ttfb_ms=MS (0 or absent: off)", http.StatusBadRequest)
			return
		}
		shape.set(lr, cr, time.Duration(tt)*time.Millisecond)
		fmt.Fprintln(w, "{}")
	})
	mux.HandleFunc("/__lab/fail", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err := strconv.Atoi(q.Get("count"))
		status := http.StatusServiceUnavailable
		if s := q.Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		if err != nil || n < 0 || q.Get("path") == "" || status < 500 || status > 599 {
			http.Error(w, "want path=P&agent=A&count=N[&status=5xx][&range=1]", http.StatusBadRequest)
			return
		}
		rule.set(q.Get("path"), q.Get("agent"), n, status, q.Get("range") == "1")
		failed.Store(0)
		fmt.Fprintln(w, "{}")
	})
	mux.HandleFunc("/__lab/reset", func(w http.ResponseWriter, _ *http.Request) {
		bytesOut.Store(0)
		requests.Store(0)
		rangeRequests.Store(0)
		fmt.Fprintln(w, "{}")
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := rule.take(r); status != 0 {
			failed.Add(1)
			if *verbose {
				log.Printf("%s %s range=%q -> %d (injected) agent=%q", r.Method, r.URL.Path, r.Header.Get("Range"), status, r.UserAgent())
			}
			http.Error(w, "injected failure", status)
			return
		}
		if _, _, tt := shape.get(); tt > 0 {
			time.Sleep(tt)
		}
		rp.ServeHTTP(w, r)
	}))
	log.Fatal(http.ListenAndServe(*listen, mux))
}
