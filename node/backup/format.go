package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// File layout (all integers big-endian):
//
//	"MGOBKUP\n"            8 bytes, magic
//	header length N        4 bytes
//	header                 N bytes of JSON (Header)
//	store                  Header.Size bytes: the bbolt file image
//	"MGOBSUM\n"            8 bytes, trailer magic
//	sha256                 32 bytes over everything before the trailer
//
// The checksum sits in a trailer rather than in the header so the store is read once,
// streamed straight from a read transaction; it covers the header too, so an edited
// applied index or size is caught like a flipped store byte.
const (
	magic        = "MGOBKUP\n"
	trailerMagic = "MGOBSUM\n"
	prefixFixed  = len(magic) + 4
	trailerLen   = len(trailerMagic) + sha256.Size
	// maxHeaderLen bounds the JSON header so a corrupt length cannot make a reader
	// allocate gigabytes.
	maxHeaderLen = 64 << 10
)

// FormatVersion is the backup file format this binary writes and reads.
const FormatVersion = 1

// Header describes a backup file.
type Header struct {
	Format int `json:"format"`
	// Node is the name of the node the store was taken from, when known.
	Node string `json:"node,omitempty"`
	// AppliedIndex and AppliedTerm are the last raft entry applied to the store.
	AppliedIndex uint64    `json:"applied_index"`
	AppliedTerm  uint64    `json:"applied_term"`
	Created      time.Time `json:"created"`
	// Size is the length of the store image in bytes.
	Size int64 `json:"size"`
	// Generator names the binary that wrote the file ("mongoose-go 1.2.3").
	Generator string `json:"generator,omitempty"`
	// Checksum is "sha256:<hex>" from the trailer; it is not part of the JSON.
	Checksum string `json:"-"`
}

// encodePrefix returns magic, length and JSON header: the bytes before the store.
func encodePrefix(h Header) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("backup: encode header: %w", err)
	}
	if len(js) > maxHeaderLen {
		return nil, fmt.Errorf("backup: header is %d bytes, limit %d", len(js), maxHeaderLen)
	}
	b := make([]byte, 0, prefixFixed+len(js))
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(js)))
	return append(b, js...), nil
}

func corrupt(path, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", path, ErrCorrupt, fmt.Sprintf(format, args...))
}

// readPrefix reads and checks the magic and header, returning the raw prefix bytes too
// (they are covered by the checksum).
func readPrefix(path string, r io.Reader) (Header, []byte, error) {
	fixed := make([]byte, prefixFixed)
	if _, err := io.ReadFull(r, fixed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, nil, corrupt(path, "too short to be a mongoose-go backup")
		}
		return Header{}, nil, fmt.Errorf("backup: read %s: %w", path, err)
	}
	if string(fixed[:len(magic)]) != magic {
		return Header{}, nil, corrupt(path, "not a mongoose-go backup (bad magic)")
	}
	n := binary.BigEndian.Uint32(fixed[len(magic):])
	if n == 0 || n > maxHeaderLen {
		return Header{}, nil, corrupt(path, "header length %d out of range", n)
	}
	prefix := make([]byte, prefixFixed+int(n))
	copy(prefix, fixed)
	if _, err := io.ReadFull(r, prefix[prefixFixed:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, nil, corrupt(path, "truncated header")
		}
		return Header{}, nil, fmt.Errorf("backup: read %s: %w", path, err)
	}
	var h Header
	if err := json.Unmarshal(prefix[prefixFixed:], &h); err != nil {
		return Header{}, nil, corrupt(path, "unreadable header: %v", err)
	}
	switch {
	case h.Format == 0:
		return Header{}, nil, corrupt(path, "header has no format version")
	case h.Format != FormatVersion:
		return Header{}, nil, fmt.Errorf("%s: %w %d (this binary reads %d)", path, ErrVersion, h.Format, FormatVersion)
	case h.Size <= 0:
		return Header{}, nil, corrupt(path, "header has store size %d", h.Size)
	}
	return h, prefix, nil
}

// checkTrailer parses the trailer and returns the checksum it records.
func checkTrailer(path string, t []byte) ([]byte, error) {
	if len(t) != trailerLen || string(t[:len(trailerMagic)]) != trailerMagic {
		return nil, corrupt(path, "bad trailer")
	}
	return t[len(trailerMagic):], nil
}

func checksumString(sum []byte) string { return "sha256:" + hex.EncodeToString(sum) }

// open opens a backup file and checks its header and total size, which catches a
// truncated or padded file before anything is copied.
func open(path string) (*os.File, Header, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Header{}, nil, fmt.Errorf("backup: %w", err)
	}
	h, prefix, err := readPrefix(path, f)
	if err != nil {
		f.Close()
		return nil, Header{}, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Header{}, nil, fmt.Errorf("backup: %w", err)
	}
	if want := int64(len(prefix)) + h.Size + int64(trailerLen); st.Size() != want {
		f.Close()
		return nil, Header{}, nil, corrupt(path, "file is %d bytes, header says %d (truncated or padded)", st.Size(), want)
	}
	return f, h, prefix, nil
}

// ReadHeader reads a backup's header and the checksum from its trailer, checking the
// magic, format version and file size but not the checksum (see Verify).
func ReadHeader(path string) (Header, error) {
	f, h, prefix, err := open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	t := make([]byte, trailerLen)
	if _, err := f.ReadAt(t, int64(len(prefix))+h.Size); err != nil {
		return Header{}, fmt.Errorf("backup: read %s: %w", path, err)
	}
	sum, err := checkTrailer(path, t)
	if err != nil {
		return Header{}, err
	}
	h.Checksum = checksumString(sum)
	return h, nil
}

// Verify reads a whole backup file and checks its header, size and checksum.
func Verify(path string) (Header, error) {
	return scan(path, io.Discard, nil)
}

// scan checks a backup file while copying its store image into body, reporting progress
// to the writer progress(size) returns (if any). body receives unverified bytes: the
// caller must discard them when scan fails.
func scan(path string, body io.Writer, progress func(int64) io.Writer) (Header, error) {
	f, h, prefix, err := open(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	hash := sha256.New()
	hash.Write(prefix)
	dst := io.MultiWriter(body, hash)
	if p := progressWriter(progress, h.Size); p != nil {
		dst = io.MultiWriter(dst, p)
	}
	if _, err := io.CopyN(dst, f, h.Size); err != nil {
		if errors.Is(err, io.EOF) {
			return Header{}, corrupt(path, "truncated store")
		}
		return Header{}, fmt.Errorf("backup: copy store from %s: %w", path, err)
	}
	t := make([]byte, trailerLen)
	if _, err := io.ReadFull(f, t); err != nil {
		return Header{}, corrupt(path, "truncated trailer")
	}
	want, err := checkTrailer(path, t)
	if err != nil {
		return Header{}, err
	}
	got := hash.Sum(nil)
	if !bytes.Equal(got, want) {
		return Header{}, corrupt(path, "checksum mismatch")
	}
	h.Checksum = checksumString(got)
	return h, nil
}
