# config-editor container image.
# Build:  docker build -t config-editor .
# Run:    docker run -p 8080:8080 -v /path/to/bundle:/conf/stack:Z config-editor config <password>
#         docker run -v /path/to/bundle:/conf/stack:Z config-editor validate --mode online

FROM docker.io/library/golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/config-editor ./cmd/config-editor

FROM registry.access.redhat.com/ubi9/ubi-minimal:latest
COPY --from=build /out/config-editor /usr/local/bin/config-editor
COPY hack/container/entrypoint.sh /usr/local/bin/entrypoint.sh
RUN mkdir -p /conf/stack && chown 1001:0 /conf/stack
# extra CAs of the bundle are trusted in-process: no root needed to install them
USER 1001
EXPOSE 8080 8443
VOLUME ["/conf/stack"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["help"]
