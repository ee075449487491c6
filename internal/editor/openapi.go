package editor

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// openAPIDoc is the hand-written OpenAPI 3.0 description of every route.
//
//go:embed openapi.json
var openAPIDoc string

func (s *Server) openAPI(c echo.Context) error {
	doc := strings.Replace(openAPIDoc, `"version": "dev"`, `"version": "`+s.cfg.Version+`"`, 1)
	return c.Blob(http.StatusOK, "application/json", []byte(doc))
}
