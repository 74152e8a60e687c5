// Command countproxy is a reverse proxy in front of the lab registry that counts the
// response body bytes it relays (the bytes "served by the registry" to the node).
// GET /__lab/bytes returns {"bytes":N,"requests":M}; POST /__lab/reset zeroes them.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

var bytesOut, requests atomic.Int64

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
			log.Printf("%s %s range=%q -> %d len=%d", r.Request.Method, r.Request.URL.Path, r.Request.Header.Get("Range"), r.StatusCode, r.ContentLength)
		}
		r.Body = countingBody{r.Body}
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/__lab/bytes", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "{\"bytes\":%d,\"requests\":%d}\n", bytesOut.Load(), requests.Load())
	})
	mux.HandleFunc("/__lab/reset", func(w http.ResponseWriter, _ *http.Request) {
		bytesOut.Store(0)
		requests.Store(0)
		fmt.Fprintln(w, "{}")
	})
	mux.Handle("/", rp)
	log.Fatal(http.ListenAndServe(*listen, mux))
}
