package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// decodeBase64 decodes base64 text, whitespace ignored (cloud-init's write_files `b64`: no gunzip).
func decodeBase64(b []byte) []byte {
	d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	check(err)
	return d
}

func decodeBody(b []byte, cte string) []byte {
	if strings.EqualFold(strings.TrimSpace(cte), "base64") {
		b = decodeBase64(b)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		r, err := gzip.NewReader(bytes.NewReader(b))
		check(err)
		b, err = io.ReadAll(r)
		check(err)
	}
	return b
}

func splitMIME(doc []byte) []part {
	msg, err := mail.ReadMessage(bytes.NewReader(doc))
	check(err)
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	check(err)
	if !strings.HasPrefix(mt, "multipart/") {
		log.Fatalf("user data is %q, not MIME multipart", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts []part
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		check(err)
		b, err := io.ReadAll(p)
		check(err)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body := decodeBody(b, p.Header.Get("Content-Transfer-Encoding"))
		// cloud-init types a decompressed part by its first line (user_data.py, DECOMP_TYPES).
		if ct == "application/x-gzip" || ct == "application/gzip" {
			switch {
			case bytes.HasPrefix(body, []byte("#cloud-config")):
				ct = "text/cloud-config"
			case bytes.HasPrefix(body, []byte("#!")):
				ct = "text/x-shellscript"
			}
		}
		parts = append(parts, part{ContentType: ct, body: body})
	}
	return parts
}
