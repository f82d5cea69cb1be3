package server

import (
	"encoding/json"
	"net/http"
)

// notFound answers every path no adapter mounted with a JSON 404 in the
// shape the admin and agent APIs use, {"code":"not-found","message":...},
// so that no error of any listener is plain text.
func notFound(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	json.NewEncoder(w).Encode(map[string]string{"code": "not-found", "message": "no such path: " + r.URL.Path})
}

// getOnly answers another method on a GET-only path with a JSON 405.
func getOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Allow", http.MethodGet)
	w.WriteHeader(http.StatusMethodNotAllowed)
	json.NewEncoder(w).Encode(map[string]string{"code": "method-not-allowed", "message": r.Method + " " + r.URL.Path + " is not allowed; use GET"})
}
