package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/documents"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// DocumentsPath is where agents upload documents and, with /{id} after
// it, download them, on the agent port.
const DocumentsPath = "/agent/v1/documents"

// Keys of a file-uploaded notice's user data (chat-protocols §6); file-id
// and file-type are the server's.
const (
	keyFileID     = "file-id"
	keyFileName   = "file-name"
	keyFileSize   = "file-size"
	keyFileType   = "file-type"
	keyFileSource = "file-source"
	keyDocumentID = "file-document-id"
	fileSource    = "confab"
	cmdFileUpload = "file-uploaded"
)

// FileAttacher completes the file-uploaded notices agents send: it
// attaches the named document to the session and returns the notice's
// user data with the server's file-id and the file's name, size and type.
type FileAttacher interface {
	AttachFile(ctx context.Context, agentID, sessionID string, userData kv.Map) (kv.Map, error)
}

// DocumentsOptions configure a Documents handler.
type DocumentsOptions struct {
	Engine *chat.Engine
	Agents AgentStore
	Docs   store.Documents
	// MaxSize returns the largest upload ([documents] agent-upload-max-size).
	MaxSize func() int64
	Log     *slog.Logger
}

// Documents serves POST /agent/v1/documents (upload, streamed into the
// store) and GET /agent/v1/documents/{id} (download of a file of one of
// the agent's sessions), and attaches uploaded documents to sessions when
// agents announce them. It is safe for concurrent use.
type Documents struct {
	opts DocumentsOptions
	log  *slog.Logger

	uploads, downloads, refused atomic.Int64
}

// NewDocuments returns a Documents handler.
func NewDocuments(opts DocumentsOptions) *Documents {
	d := &Documents{opts: opts, log: opts.Log}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// Register mounts the two routes.
func (d *Documents) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+DocumentsPath, d.upload)
	mux.HandleFunc("GET "+DocumentsPath+"/{id}", d.download)
}

// DocumentInfo is the answer to an upload.
type DocumentInfo struct {
	DocumentID  string `json:"documentId"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	SHA256      string `json:"sha256"`
}

func (d *Documents) agent(w http.ResponseWriter, r *http.Request) (store.Agent, bool) {
	tok := BearerToken(r)
	if tok == "" {
		refuse(w, http.StatusUnauthorized, "unauthorized", "an agent token is required (Authorization: Bearer <token>)")
		return store.Agent{}, false
	}
	a, err := d.opts.Agents.GetAgentByTokenHash(r.Context(), HashToken(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		refuse(w, http.StatusUnauthorized, "unauthorized", "the agent token is not valid")
		return store.Agent{}, false
	case err != nil:
		d.log.Error("agent documents: look up token", "err", err)
		refuse(w, http.StatusServiceUnavailable, "unavailable", "cannot check the token now")
		return store.Agent{}, false
	}
	return a, true
}

func (d *Documents) upload(w http.ResponseWriter, r *http.Request) {
	a, ok := d.agent(w, r)
	if !ok {
		return
	}
	max := d.opts.MaxSize()
	if r.ContentLength > max+64<<10 {
		d.refused.Add(1)
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", "the document is larger than "+strconv.FormatInt(max, 10)+" bytes (agent-upload-max-size)")
		return
	}
	up, err := documents.UploadBody(r, 64<<10)
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad-request", err.Error())
		return
	}
	doc, err := d.opts.Docs.PutDocument(r.Context(), store.Document{
		ID: chat.NewSecret(24), Owner: a.ID, Name: up.Name, ContentType: up.ContentType,
	}, up.Body, max)
	switch {
	case errors.Is(err, store.ErrTooLarge):
		d.refused.Add(1)
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", "the document is larger than "+strconv.FormatInt(max, 10)+" bytes (agent-upload-max-size)")
		return
	case err != nil:
		d.log.Warn("agent documents: upload not stored", "agent", a.ID, "err", err)
		refuse(w, http.StatusBadRequest, "bad-request", "the upload could not be read to its end")
		return
	}
	d.uploads.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", DocumentsPath+"/"+doc.ID)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(DocumentInfo{DocumentID: doc.ID, Name: doc.Name, Size: doc.Size, ContentType: doc.ContentType, SHA256: doc.SHA256})
}

// mayRead reports whether the agent may download the document: its own
// upload, or a file of a session the agent has been a party of (live or
// still in its grace period on this node).
func (d *Documents) mayRead(a store.Agent, doc store.Document) bool {
	if doc.Owner == a.ID {
		return true
	}
	if doc.SessionID == "" {
		return false
	}
	s, err := d.opts.Engine.Get(doc.SessionID)
	if err != nil {
		return false
	}
	for _, p := range s.Info().Participants {
		if p.PersonID == a.ID {
			return true
		}
	}
	return false
}

func (d *Documents) download(w http.ResponseWriter, r *http.Request) {
	a, ok := d.agent(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	doc, rc, err := d.opts.Docs.OpenDocument(r.Context(), id)
	if err == nil && !d.mayRead(a, doc) {
		rc.Close()
		err = store.ErrNotFound // a foreign document looks like a missing one
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		refuse(w, http.StatusNotFound, "not-found", "no such document in your sessions")
		return
	case err != nil:
		d.log.Error("agent documents: open", "document", id, "err", err)
		refuse(w, http.StatusServiceUnavailable, "unavailable", "cannot read the document now")
		return
	}
	defer rc.Close()
	if err := documents.Serve(w, doc, rc); err != nil {
		d.log.Warn("agent documents: download ended early", "document", id, "err", err)
		return
	}
	d.downloads.Add(1)
}

// AttachFile completes a file-uploaded notice; see FileAttacher. A notice
// without file-document-id (a file kept elsewhere) passes unchanged.
func (d *Documents) AttachFile(ctx context.Context, agentID, sessionID string, ud kv.Map) (kv.Map, error) {
	id := ud.String(keyDocumentID)
	if id == "" {
		return ud, nil
	}
	doc, err := d.opts.Docs.GetDocument(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fail(wire.CodeBadRequest, "userData.file-document-id", "no such document %s", id)
	case err != nil:
		return nil, fail(wire.CodeInternal, "", "cannot read document %s now", id)
	case doc.Owner != agentID && doc.SessionID != sessionID:
		return nil, fail(wire.CodeForbidden, "userData.file-document-id", "document %s is neither yours nor of this session", id)
	}
	if doc.FileID == "" {
		doc, err = d.opts.Docs.AttachDocument(ctx, id, sessionID, chat.NewSecret(12), "")
		switch {
		case errors.Is(err, store.ErrConflict):
			return nil, fail(wire.CodeBadRequest, "userData.file-document-id", "document %s is attached to another session", id)
		case err != nil:
			return nil, fail(wire.CodeInternal, "", "cannot attach document %s now", id)
		}
	} else if doc.SessionID != sessionID {
		return nil, fail(wire.CodeBadRequest, "userData.file-document-id", "document %s is attached to another session", id)
	}
	out := ud.Clone()
	out.Merge(kv.Map{
		keyFileID: doc.FileID, keyFileName: doc.Name, keyFileSize: strconv.FormatInt(doc.Size, 10),
		keyFileType: doc.ContentType, keyFileSource: fileSource,
	})
	return out, nil
}

// Counts are the document operations served.
type Counts struct {
	Uploads, Downloads, Refused int64
}

// Counts returns the uploads, downloads and refused uploads served.
func (d *Documents) Counts() Counts {
	return Counts{Uploads: d.uploads.Load(), Downloads: d.downloads.Load(), Refused: d.refused.Load()}
}
