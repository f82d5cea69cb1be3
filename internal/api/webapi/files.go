package webapi

import (
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"sync"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/documents"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/store"
)

// The four file operations. Files live in the store (Options.Files); a
// node without one answers as one with customer file transfer off: the
// limits allow nothing, an upload is refused with error 201 (advice 0), and
// no file id exists.
//
// Uploads are streamed: the session fields are read first (the widget sends
// them before the file), then the file part goes straight into the store,
// which stops reading at the limit. If the file part comes before the
// session fields, it is streamed with upload-max-file-size as the limit and
// checked against the rest once the fields have been read; a refused file
// is deleted, so a refused upload never leaves anything stored.

// Keys of the file notices' user data. file-name, file-size, file-source and
// file-document-id are the reference's; file-id is assigned by the server;
// file-type (the content type) is Confab's.
const (
	keyFileID     = "file-id"
	keyFileName   = "file-name"
	keyFileSize   = "file-size"
	keyFileType   = "file-type"
	keyFileSource = "file-source"
	keyDocumentID = "file-document-id"
	// FileSource is the file-source of documents kept in Confab's store.
	FileSource = "confab"
)

// Error codes of uploads (§8 of the reference): 201 too many files (advice:
// the maximum count), 202 the size limit would be exceeded (advice: the
// limit in bytes), 203 file type not allowed (advice: the allowed types).
const (
	codeTotalSize = 202
	codeFileType  = 203
)

// transferOff are the file limits of a chat whose customer may not upload.
// Values are strings, as the reference sends them.
func transferOff() kv.Map {
	return kv.Map{
		"upload-max-files":           "0",
		"upload-max-file-size":       "0",
		"upload-max-total-size":      "0",
		"upload-need-agent":          "true",
		"upload-file-types":          "",
		"used-upload-max-files":      "0",
		"used-upload-max-total-size": "0",
		"download-attempts":          "0",
		"used-download-attempts":     "0",
		"delete-file":                "false",
	}
}

// usage is what a customer has used of the session's allowances.
type usage struct {
	files     int
	bytes     int64
	downloads int
}

// usageOf counts the customer's uploads and the session's downloads.
func (a *API) usageOf(ctx context.Context, sessionID, userID string) (usage, error) {
	docs, err := a.files.ListDocuments(ctx, sessionID)
	if err != nil {
		return usage{}, err
	}
	var u usage
	for _, d := range docs {
		if d.Owner == userID {
			u.files++
			u.bytes += d.Size
		}
		u.downloads += d.Downloads
	}
	return u, nil
}

// limitsMap is the file-limits user data for a customer.
func limitsMap(ft config.FileTransfer, u usage) kv.Map {
	return kv.Map{
		"upload-max-files":           strconv.Itoa(ft.UploadMaxFiles),
		"upload-max-file-size":       strconv.Itoa(ft.UploadMaxFileSize),
		"upload-max-total-size":      strconv.Itoa(ft.UploadMaxTotalSize),
		"upload-need-agent":          strconv.FormatBool(ft.UploadNeedAgent),
		"upload-file-types":          ft.UploadFileTypes,
		"used-upload-max-files":      strconv.Itoa(u.files),
		"used-upload-max-total-size": strconv.FormatInt(u.bytes, 10),
		"download-attempts":          strconv.Itoa(ft.DownloadAttempts),
		"used-download-attempts":     strconv.Itoa(u.downloads),
		"delete-file":                "true",
	}
}

// opFileLimits answers the common body whose messages hold one Notice from
// the system (index 0: it is not a transcript event) with the limits in its
// userData.
func opFileLimits(a *API, rq *request) {
	limits := transferOff()
	if a.files != nil {
		u, err := a.usageOf(rq.r.Context(), rq.sess.ID(), rq.me.UserID)
		if err != nil {
			a.log.Error("file limits", "chat", rq.chatID, "err", err)
			a.answer(rq, 1, readNone, apiError{codeUnexpected, "the file limits could not be read; try again"})
			return
		}
		limits = limitsMap(rq.cfg.FileTransfer, u)
	}
	evbuf := a.getEvents()
	st := newStream(rq.sess, rq.me.UserID, maxPosition, 0, rq.me.Left, *evbuf)
	bt, err := st.read()
	b := &body{}
	if err == nil {
		a.fill(b, rq, bt)
	}
	b.events = []chat.Event{{
		Pos: -1, Kind: chat.Notice, Notice: chat.CustomNotice, Time: a.clock.Now(),
		From: chat.Party{Nick: "system", Type: chat.System}, UserData: limits,
	}}
	a.send(rq.w, b)
	*evbuf = st.buffer()
	a.putEvents(evbuf)
}

// uploadGate serialises the uploads of one session, so that two at once
// cannot both pass the count and total limits.
type uploadGate struct {
	mu    sync.Mutex // guards the following
	gates map[string]*gate
}

type gate struct {
	ch   chan struct{}
	refs int
}

func (g *uploadGate) enter(ctx context.Context, id string) (leave func(), err error) {
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[string]*gate{}
	}
	e := g.gates[id]
	if e == nil {
		e = &gate{ch: make(chan struct{}, 1)}
		g.gates[id] = e
	}
	e.refs++
	g.mu.Unlock()
	release := func() {
		g.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(g.gates, id)
		}
		g.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// handleUpload is POST .../{chatId}/file.
func (a *API) handleUpload(w http.ResponseWriter, r *http.Request) {
	cfg := a.config()
	rq := &request{w: w, r: r, cfg: cfg, lim: limitsFor(cfg), chatID: r.PathValue("chatId")}
	ur, f, fl := newUploadReader(r, rq.lim.body)
	if fl != nil {
		a.fail(w, fl)
		return
	}
	var part *multipart.Part
	if ur != nil {
		rq.form = ur.f
		if part, fl = ur.next(); fl != nil {
			a.fail(w, fl)
			return
		}
	} else {
		rq.form = f // not multipart: no file in it
	}
	a.streamUpload(rq, ur, part, func(f *form) bool { return f.get("userId") != "" }, a.authenticate)
}

// streamUpload runs an upload whose first file part (or nil) has just been
// reached: ready says whether the fields read so far can authenticate, auth
// authenticates (REST by chatId, userId and secureKey; chat-ntf by
// secureKey).
func (a *API) streamUpload(rq *request, ur *uploadReader, part *multipart.Part, ready func(*form) bool, auth func(*request) bool) {
	w, r, cfg := rq.w, rq.r, rq.cfg
	authed := false
	if part == nil || ready(rq.form) {
		if !auth(rq) {
			a.unauthorized(w)
			return
		}
		authed = true
	}
	if a.files == nil {
		a.fail(w, &failure{status: http.StatusBadRequest, errs: []apiError{{codeTooManyFiles, "0"}}})
		return
	}
	if part == nil {
		a.fail(w, invalid("file", "is required: a multipart part with a file name"))
		return
	}
	ctx := r.Context()
	if authed {
		leave, err := a.uploads.enter(ctx, rq.chatID)
		if err != nil {
			return // the client went away
		}
		defer leave()
	}
	ft := cfg.FileTransfer
	name := documents.SafeName(part.FileName())
	max := int64(ft.UploadMaxFileSize)
	var u usage
	if authed {
		var fl *failure
		if u, fl = a.checkUpload(rq, ft, name); fl != nil {
			a.fail(w, fl)
			return
		}
		max = min(max, int64(ft.UploadMaxTotalSize)-u.bytes)
	}
	doc, err := a.files.PutDocument(ctx, store.Document{
		ID: chat.NewSecret(24), Owner: rq.me.UserID, Name: name,
		ContentType: documents.ContentType(part.Header.Get("Content-Type"), name),
	}, part, max)
	switch {
	case errors.Is(err, store.ErrTooLarge):
		a.fail(w, sizeFailure(ft, max))
		return
	case err != nil:
		a.log.Warn("upload not stored", "chat", rq.chatID, "err", err)
		a.fail(w, invalid("file", "the upload could not be read to its end"))
		return
	}
	refuse := func(fl *failure) {
		if err := a.files.DeleteDocument(context.WithoutCancel(ctx), doc.ID); err != nil {
			a.log.Error("remove a refused upload", "chat", rq.chatID, "document", doc.ID, "err", err)
		}
		a.fail(w, fl)
	}
	// The fields after the file: userData[...] of the notice, or the
	// session fields of a client that sent them last. A second file is
	// refused.
	if more, fl := ur.next(); fl != nil || more != nil {
		if fl == nil {
			fl = invalid("file", "one file per upload")
		}
		refuse(fl)
		return
	}
	if !authed {
		if !auth(rq) {
			if err := a.files.DeleteDocument(context.WithoutCancel(ctx), doc.ID); err != nil {
				a.log.Error("remove an unauthorised upload", "chat", rq.chatID, "err", err)
			}
			a.unauthorized(w)
			return
		}
		leave, err := a.uploads.enter(ctx, rq.chatID)
		if err != nil {
			refuse(&failure{status: http.StatusBadRequest, errs: []apiError{{codeUnexpected, "cancelled"}}})
			return
		}
		defer leave()
		var fl *failure
		if u, fl = a.checkUpload(rq, ft, name); fl != nil {
			refuse(fl)
			return
		}
		if u.bytes+doc.Size > int64(ft.UploadMaxTotalSize) {
			refuse(sizeFailure(ft, int64(ft.UploadMaxTotalSize)-u.bytes))
			return
		}
	}
	ud, fl := rq.form.checkedUserData(rq.lim)
	if fl != nil {
		refuse(fl)
		return
	}
	fileID := chat.NewSecret(12)
	doc, err = a.files.AttachDocument(ctx, doc.ID, rq.sess.ID(), fileID, rq.me.UserID)
	if err != nil {
		a.log.Error("attach an upload", "chat", rq.chatID, "err", err)
		refuse(&failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnexpected, "the file could not be stored; try again"}}})
		return
	}
	data := ud.Clone()
	if data == nil {
		data = kv.Map{}
	}
	data.Merge(fileNotice(doc))
	rq.sess.Touch(rq.me.UserID)
	rc, err := rq.sess.Notify(rq.me.UserID, chat.Note{Type: chat.SysCommand, Text: cmdFileUploaded, UserData: data})
	if err != nil {
		if derr := a.files.DeleteDocument(context.WithoutCancel(ctx), doc.ID); derr != nil {
			a.log.Error("remove an upload whose notice failed", "chat", rq.chatID, "err", derr)
		}
		a.changeFailed(rq, err, "file", readNone)
		return
	}
	a.uploaded.Add(1)
	if err := rc.Wait(ctx); err != nil {
		a.answer(rq, 1, readNone, apiError{codeUnexpected, "the upload could not be confirmed as saved; try again"})
		return
	}
	b := &body{userData: kv.Map{keyFileID: fileID}}
	b.alias, b.userID, b.secureKey, b.chatID = a.alias, rq.me.UserID, rq.me.Secret, rq.sess.ID()
	a.send(w, b)
}

// fileNotice is the user data of the file-uploaded notice for a document.
func fileNotice(d store.Document) kv.Map {
	return kv.Map{
		keyFileID:     d.FileID,
		keyFileName:   d.Name,
		keyFileSize:   strconv.FormatInt(d.Size, 10),
		keyFileType:   d.ContentType,
		keyFileSource: FileSource,
		keyDocumentID: d.ID,
	}
}

// checkUpload checks what can be known before the file is read: an agent
// present if one is needed, the file count, the total left, the type.
func (a *API) checkUpload(rq *request, ft config.FileTransfer, name string) (usage, *failure) {
	if ft.UploadMaxFiles == 0 || ft.UploadMaxFileSize == 0 || ft.UploadMaxTotalSize == 0 {
		return usage{}, &failure{status: http.StatusBadRequest, errs: []apiError{{codeTooManyFiles, "0"}}}
	}
	if rq.me.Left {
		return usage{}, &failure{status: http.StatusBadRequest, errs: []apiError{{codeInvalid, "file: the customer has left the chat"}}}
	}
	if ft.UploadNeedAgent && !agentPresent(rq.sess) {
		return usage{}, &failure{status: http.StatusBadRequest, errs: []apiError{{codeInvalid, "file: uploads need an agent in the chat (upload-need-agent)"}}}
	}
	if !allowedType(ft.UploadFileTypes, extension(name)) {
		return usage{}, &failure{status: http.StatusBadRequest, errs: []apiError{{codeFileType, ft.UploadFileTypes}}}
	}
	u, err := a.usageOf(rq.r.Context(), rq.sess.ID(), rq.me.UserID)
	if err != nil {
		a.log.Error("count uploads", "chat", rq.chatID, "err", err)
		return usage{}, &failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnexpected, "the uploads could not be counted; try again"}}}
	}
	if u.files >= ft.UploadMaxFiles {
		return u, &failure{status: http.StatusBadRequest, errs: []apiError{{codeTooManyFiles, strconv.Itoa(ft.UploadMaxFiles)}}}
	}
	if u.bytes >= int64(ft.UploadMaxTotalSize) {
		return u, &failure{status: http.StatusBadRequest, errs: []apiError{{codeTotalSize, strconv.Itoa(ft.UploadMaxTotalSize)}}}
	}
	return u, nil
}

// sizeFailure is error 202 for a file over max bytes: the advice is the
// single-file limit when that was the one hit, else the total limit.
func sizeFailure(ft config.FileTransfer, max int64) *failure {
	advice := strconv.Itoa(ft.UploadMaxTotalSize)
	if max >= int64(ft.UploadMaxFileSize) {
		advice = strconv.Itoa(ft.UploadMaxFileSize)
	}
	return &failure{status: http.StatusBadRequest, errs: []apiError{{codeTotalSize, advice}}}
}

// agentPresent reports whether an agent or supervisor is in the session.
func agentPresent(s *chat.Session) bool {
	for _, p := range s.Info().Participants {
		if !p.Left && (p.Type == chat.Agent || p.Type == chat.Supervisor) {
			return true
		}
	}
	return false
}

// findFile returns the session's document with the request's fileId. A
// file of another chat or of none gets the same answer.
func (a *API) findFile(rq *request) (store.Document, bool) {
	if a.files == nil {
		a.fail(rq.w, noSuchFile())
		return store.Document{}, false
	}
	d, err := a.files.FindFile(rq.r.Context(), rq.sess.ID(), rq.r.PathValue("fileId"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.fail(rq.w, noSuchFile())
		return store.Document{}, false
	case err != nil:
		a.log.Error("find a file", "chat", rq.chatID, "err", err)
		a.fail(rq.w, &failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnexpected, "the file could not be looked up; try again"}}})
		return store.Document{}, false
	}
	return d, true
}

func noSuchFile() *failure {
	return &failure{status: http.StatusNotFound, errs: []apiError{{codeInvalid, "fileId: no such file in this chat"}}}
}

// opFileDownload sends the file's bytes as an attachment, counting one of
// the session's download attempts.
func opFileDownload(a *API, rq *request) {
	d, ok := a.findFile(rq)
	if !ok {
		return
	}
	ctx := rq.r.Context()
	max := rq.cfg.FileTransfer.DownloadAttempts
	if _, err := a.files.TakeDownload(ctx, d.ID, max); err != nil {
		if errors.Is(err, store.ErrLimit) {
			a.fail(rq.w, &failure{status: http.StatusForbidden, errs: []apiError{{codeInvalid,
				fmt.Sprintf("fileId: the %d download attempts of this chat are used up (download-attempts)", max)}}})
			return
		}
		a.log.Error("count a download", "chat", rq.chatID, "err", err)
		a.fail(rq.w, &failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnexpected, "the download could not be counted; try again"}}})
		return
	}
	d, rc, err := a.files.OpenDocument(ctx, d.ID)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted meanwhile
		a.fail(rq.w, noSuchFile())
		return
	case err != nil:
		a.log.Error("open a file", "chat", rq.chatID, "err", err)
		a.fail(rq.w, &failure{status: http.StatusServiceUnavailable, errs: []apiError{{codeUnexpected, "the file could not be read; try again"}}})
		return
	}
	defer rc.Close()
	if err := documents.Serve(rq.w, d, rc); err != nil {
		a.log.Warn("download ended early", "chat", rq.chatID, "file", d.FileID, "err", err)
	}
	a.downloaded.Add(1)
}

// opFileDelete removes a file the customer uploaded and announces it with a
// file-deleted notice.
func opFileDelete(a *API, rq *request) {
	start, fl := startFor(rq.form, readNone)
	if fl != nil {
		a.fail(rq.w, fl)
		return
	}
	d, ok := a.findFile(rq)
	if !ok {
		return
	}
	if d.Owner != rq.me.UserID {
		a.fail(rq.w, &failure{status: http.StatusForbidden, errs: []apiError{{codeInvalid, "fileId: only files you uploaded can be deleted"}}})
		return
	}
	if err := a.files.DeleteDocument(rq.r.Context(), d.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error("delete a file", "chat", rq.chatID, "err", err)
		a.answer(rq, 1, start, apiError{codeUnexpected, "the file could not be deleted; try again"})
		return
	}
	a.notify(rq, chat.Note{Type: chat.SysCommand, Text: cmdFileDeleted, UserData: kv.Map{
		keyFileID: d.FileID, keyFileName: d.Name, keyDocumentID: d.ID,
	}}, "fileId", start)
}

// FileCounts are the file operations served since the API started.
type FileCounts struct {
	Uploaded, Downloaded int64
}

// FileCounts returns the uploads and downloads served.
func (a *API) FileCounts() FileCounts {
	return FileCounts{Uploaded: a.uploaded.Load(), Downloaded: a.downloaded.Load()}
}
