package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DocumentsPath is where a Confab node takes agent uploads (POST) and
// serves documents (GET DocumentsPath/{id}), on its "agent" port.
const DocumentsPath = "/agent/v1/documents"

// Document describes an uploaded document. Announce it in a session with a
// SYS_COMMAND notice whose text is "file-uploaded" and whose user data has
// "file-document-id" set to ID; the server adds the file-id, name, size and
// type.
type Document struct {
	ID          string `json:"documentId"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	SHA256      string `json:"sha256"`
}

// UploadDocument streams content to the node at base (http://host:port of
// the agent port) as a new document named name. hc nil means
// http.DefaultClient.
func UploadDocument(ctx context.Context, hc *http.Client, base, token, name, contentType string, content io.Reader) (Document, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+DocumentsPath+"?name="+url.QueryEscape(name), content)
	if err != nil {
		return Document{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Document{}, fmt.Errorf("agent: upload %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return Document{}, httpError(resp)
	}
	var d Document
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return Document{}, fmt.Errorf("agent: upload %s: %w", name, err)
	}
	return d, nil
}

// OpenDocument downloads a document of one of the agent's sessions; the
// caller reads and closes the body. The response's headers carry
// Content-Type and Content-Disposition.
func OpenDocument(ctx context.Context, hc *http.Client, base, token, id string) (*http.Response, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+DocumentsPath+"/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: download %s: %w", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, httpError(resp)
	}
	return resp, nil
}

// DocumentError is a refused document request.
type DocumentError struct {
	StatusCode int
	Code       string // e.g. "too-large", "not-found", "unauthorized"
	Message    string
}

func (e *DocumentError) Error() string {
	return fmt.Sprintf("agent: document request refused: HTTP %d %s: %s", e.StatusCode, e.Code, e.Message)
}

func httpError(resp *http.Response) error {
	var body struct{ Code, Message string }
	json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
	return &DocumentError{StatusCode: resp.StatusCode, Code: body.Code, Message: body.Message}
}
