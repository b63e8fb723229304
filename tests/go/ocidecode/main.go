// Command ocidecode reads OCI image manifests and indexes the way Go clients do (oras, containerd,
// Distribution, skopeo, crane, KServe): with encoding/json into structs that have the JSON field
// names and Go types of image-spec's specs-go/v1 Manifest, Index, Descriptor and Platform. The
// structs are written here (standard library only) so that the differential test
// crates/model-signing/tests/oci_go_differential.rs needs no module download.
//
// Usage:
//
//	ocidecode decode FILE...   one JSON line per file: {"file","ok","error","doc"}
//	ocidecode fold-table       the non-ASCII runes encoding/json folds onto ASCII field-name letters
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"unicode"
)

// Platform has the fields of image-spec's Platform, plus the Docker manifest list's features.
// No omitempty: the output shows every field, so the test can tell "" from a value.
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version"`
	OSFeatures   []string `json:"os.features"`
	Variant      string   `json:"variant"`
	Features     []string `json:"features"`
}

// Descriptor has the fields and Go types of image-spec's Descriptor (the digest as a plain
// string: go-digest's Digest is a string type and decodes the same way).
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls"`
	Annotations  map[string]string `json:"annotations"`
	Data         []byte            `json:"data"`
	Platform     *Platform         `json:"platform"`
	ArtifactType string            `json:"artifactType"`
}

// Document is the union of image-spec's Manifest and Index: what a client decodes when it peeks
// at the shape of a document before choosing how to treat it. Config is a value, not a pointer,
// as in Manifest; SchemaVersion is an int, as in specs.Versioned.
type Document struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Manifests     []Descriptor      `json:"manifests"`
	Subject       *Descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

type result struct {
	File  string   `json:"file"`
	OK    bool     `json:"ok"`
	Error string   `json:"error"`
	Doc   Document `json:"doc"`
}

type fold struct {
	r     rune
	Rune  string   `json:"rune"`
	Char  string   `json:"char"`
	ASCII string   `json:"ascii"`
	Rules []string `json:"rules"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ocidecode decode FILE... | ocidecode fold-table")
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	switch os.Args[1] {
	case "decode":
		for _, name := range os.Args[2:] {
			raw, err := os.ReadFile(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			r := result{File: name, OK: true}
			// The document is printed even after an error: Unmarshal fills what it could.
			if err := json.Unmarshal(raw, &r.Doc); err != nil {
				r.OK = false
				r.Error = err.Error()
			}
			if err := out.Encode(r); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	case "fold-table":
		if err := out.Encode(foldTable()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "ocidecode: unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
}

// foldTable lists every rune above 0x7F that a JSON key may hold in place of an ASCII character
// of a field name, under either rule encoding/json has used, both computed from this Go's
// Unicode tables:
//   - "foldName" (Go >= 1.21): unicode.ToUpper(unicode.ToLower(r)) is that character, upper-cased;
//   - "EqualFold" (Go <= 1.20): bytes.EqualFold(string(r), string(c)).
func foldTable() []fold {
	type key struct {
		r rune
		c byte
	}
	rules := map[key][]string{}
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // not encodable: string(r) would be U+FFFD
		}
		if u := unicode.ToUpper(unicode.ToLower(r)); u < 0x80 {
			c := byte(u)
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			rules[key{r, c}] = append(rules[key{r, c}], "foldName")
		}
		for c := byte(0x20); c < 0x7F; c++ {
			if bytes.EqualFold([]byte(string(r)), []byte{c}) {
				u := c
				if 'a' <= u && u <= 'z' {
					u -= 'a' - 'A'
				}
				k := key{r, u}
				if n := len(rules[k]); n == 0 || rules[k][n-1] != "EqualFold" {
					rules[k] = append(rules[k], "EqualFold")
				}
			}
		}
	}
	out := make([]fold, 0, len(rules))
	for k, v := range rules {
		out = append(out, fold{
			r:     k.r,
			Rune:  fmt.Sprintf("U+%04X", k.r),
			Char:  string(k.r),
			ASCII: string(rune(k.c)),
			Rules: v,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].r != out[j].r {
			return out[i].r < out[j].r
		}
		return out[i].ASCII < out[j].ASCII
	})
	return out
}
