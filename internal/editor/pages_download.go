package editor

// Downloading a bundle with errors asks first, naming the count (the old
// editor allowed a download only after a passing validation).

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// downloadErrors is the number of errors the current revision's
// validation found (the caller holds the session lock).
func (p *pages) downloadErrors(sess *Session) int {
	p.ensureHealth(sess)
	return summaryOf(sess.validationSnapshot(), sess.Rev).Errors
}

// confirmData is the data of templates/pages/confirm_download.html.
type confirmData struct {
	layoutData
	Errors int
}

// confirmDownload asks whether to download a bundle with errors.
func (p *pages) confirmDownload(c echo.Context, sess *Session, n int) error {
	return p.page(c, sess, http.StatusOK, "confirm_download", "overview", "Download with errors?", &confirmData{Errors: n})
}
