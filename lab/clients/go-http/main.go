// go-http: the seed's client, a Go service calling a name with net/http's default transport
// (http.DefaultTransport's settings; the dial and idle timeouts can be scaled down like the lab
// scales time). Serial requests over the transport's pooled keep-alive connection; one line per
// request: human-readable, or with -json the lab's Outcome record (src/clients/outcome.ts).
// Bounded by -n and -max-duration: it always stops by itself.
//
//	go-http -url http://test-com.test/ -every 200ms -n 50
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type outcome struct {
	Seq              int    `json:"seq"`
	At               int64  `json:"at"`
	LatencyMs        int64  `json:"latencyMs"`
	Status           int    `json:"status,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorMessage     string `json:"errorMessage,omitempty"`
	LocalPort        int    `json:"localPort,omitempty"`
	ServedBy         string `json:"servedBy,omitempty"`
	ConnectionHeader string `json:"connectionHeader,omitempty"`
	Body             string `json:"body,omitempty"`
	IdleGapMs        *int   `json:"idleGapMs,omitempty"`
}

// errorCode names an error the way the lab's Node client does (errno names), so checks read both alike.
func errorCode(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "ECONNREFUSED"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Timeout() {
		return "ECONNECT_TIMEOUT" // the dialer gave up (the lab's Node client says UND_ERR_CONNECT_TIMEOUT)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "ETIMEDOUT"
	}
	return "Error"
}

func main() {
	url := flag.String("url", "", "what to call, e.g. http://test-com.test/")
	every := flag.Duration("every", 200*time.Millisecond, "start a request this often (or right after a slower one)")
	gapAfter := flag.Duration("gap-after", 0, "instead of -every: pause this long after each response")
	gaps := flag.String("gaps", "", "instead: a schedule of pauses in ms after each response (comma-separated); stops when used up")
	n := flag.Int("n", 50, "at most this many requests")
	maxDuration := flag.Duration("max-duration", 30*time.Second, "stop after this long")
	timeout := flag.Duration("timeout", 4*time.Second, "give up on one request after this long")
	connectTimeout := flag.Duration("connect-timeout", 0, "dial timeout (0: the default transport's 30 s)")
	idleConnTimeout := flag.Duration("idle-conn-timeout", 0, "drop a pooled connection idle this long (0: the default transport's 90 s)")
	asJSON := flag.Bool("json", false, "print the lab's Outcome record per request")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "go-http: -url is required, e.g. -url http://test-com.test/")
		os.Exit(2)
	}
	var schedule []int
	for _, s := range strings.Split(*gaps, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ms, err := strconv.Atoi(s)
			if err != nil {
				fmt.Fprintf(os.Stderr, "go-http: -gaps %q: %v\n", *gaps, err)
				os.Exit(2)
			}
			schedule = append(schedule, ms)
		}
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *connectTimeout > 0 {
		transport.DialContext = (&net.Dialer{Timeout: *connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	if *idleConnTimeout > 0 {
		transport.IdleConnTimeout = *idleConnTimeout
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}

	// SIGTERM ends the run after the request in flight (as the lab's own client stops): a request
	// cut in half would be an outcome of the stop, not of the incident.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	out := json.NewEncoder(os.Stdout)
	started := time.Now()
	for seq := 1; seq <= *n && time.Since(started) < *maxDuration && ctx.Err() == nil; seq++ {
		at := time.Now()
		o := outcome{Seq: seq, At: at.UnixMilli()}
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if addr, ok := info.Conn.LocalAddr().(*net.TCPAddr); ok {
				o.LocalPort = addr.Port
			}
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, *url, nil)
		res, err := client.Do(req)
		if err == nil {
			body, readErr := io.ReadAll(res.Body) // read to the end: only then is the connection reused
			res.Body.Close()
			o.Status, o.ServedBy, o.ConnectionHeader = res.StatusCode, res.Header.Get("X-Served-By"), res.Header.Get("Connection")
			if res.Close { // net/http removes "Connection: close" from the header and records it here
				o.ConnectionHeader = "close"
			}
			o.Body = strings.SplitN(string(body), "\n", 2)[0]
			err = readErr
		}
		if err != nil && o.Status == 0 {
			o.Error, o.ErrorMessage = errorCode(err), err.Error()
		}
		o.LatencyMs = time.Since(at).Milliseconds()
		if schedule != nil && seq >= 2 && seq-2 < len(schedule) {
			o.IdleGapMs = &schedule[seq-2]
		}
		if *asJSON {
			out.Encode(o)
		} else if o.Status != 0 {
			fmt.Printf("#%d %d %s local port %d served by %s (%d ms)\n", seq, o.Status, strings.TrimSpace(o.Body[:min(len(o.Body), 90)]), o.LocalPort, o.ServedBy, o.LatencyMs)
		} else {
			fmt.Printf("#%d error %s: %s (%d ms)\n", seq, o.Error, o.ErrorMessage, o.LatencyMs)
		}
		var wait time.Duration
		switch {
		case schedule != nil:
			if seq-1 >= len(schedule) {
				return
			}
			wait = time.Duration(schedule[seq-1]) * time.Millisecond
		case *gapAfter > 0:
			wait = *gapAfter
		default:
			wait = *every - time.Since(at)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
}
