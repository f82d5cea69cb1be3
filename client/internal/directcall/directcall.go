// Package directcall sends a client library's API calls straight to an
// http.Client's Transport when the Client adds nothing to them, since
// net/http's Client copies every request's headers for the redirects it
// might follow. The chatv2 and esp clients share it.
package directcall

import (
	"io"
	"net/http"
	"net/url"
)

// Do sends req through hc: straight to hc's Transport when hc adds nothing
// to it (no cookie jar, no timeout, no credentials in the URL, a body that
// can be sent again). An answer that redirects is dropped and the call made
// again through hc, which follows it (a redirected call was not applied).
// Errors are *url.Error, as the Client's are.
func Do(hc *http.Client, req *http.Request) (*http.Response, error) {
	if hc.Jar != nil || hc.Timeout > 0 || req.URL.User != nil || req.GetBody == nil {
		return hc.Do(req)
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
	}
	if resp.StatusCode < 300 || resp.StatusCode >= 400 || resp.Header.Get("Location") == "" {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	again := req.Clone(req.Context())
	body, err := req.GetBody()
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: err}
	}
	again.Body = body
	return hc.Do(again)
}
