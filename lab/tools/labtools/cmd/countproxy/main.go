// Command countproxy is a reverse proxy in front of the lab registry that counts the
// response body bytes it relays (the bytes "served by the registry" to the node).
// GET /__lab/bytes returns {"bytes":N,"requests":M}; POST /__lab/reset zeroes them.
// POST /__lab/fail?path=P&agent=A&count=N answers the next N requests whose URL path contains P and
// whose User-Agent contains A with 503 (fault injection for lab experiments); count=0 clears the rule.
// Optional: status=5xx (the status to answer, default 503) and range=1 (only requests with a Range
// header: SOCI's span fetches, not its manifest, index or zTOC fetches).
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
)

var bytesOut, requests, failed atomic.Int64

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

type countingBody struct{ io.ReadCloser }

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	bytesOut.Add(int64(n))
	return n, err
}

func main() {
	listen := flag.String("listen", "127.0.0.1:5001", "listen address")
	target := flag.String("target", "http://127.0.0.1:5000", "registry URL")
	verbose := flag.Bool("v", false, "log each request")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		log.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		requests.Add(1)
		if *verbose {
			log.Printf("%s %s range=%q -> %d len=%d agent=%q", r.Request.Method, r.Request.URL.Path, r.Request.Header.Get("Range"), r.StatusCode, r.ContentLength, r.Request.UserAgent())
		}
		r.Body = countingBody{r.Body}
		return nil
	}
	var rule failRule
	mux := http.NewServeMux()
	mux.HandleFunc("/__lab/bytes", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "{\"bytes\":%d,\"requests\":%d,\"failed\":%d}\n", bytesOut.Load(), requests.Load(), failed.Load())
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
		rp.ServeHTTP(w, r)
	}))
	log.Fatal(http.ListenAndServe(*listen, mux))
}
