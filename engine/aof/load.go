package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// rdbMagic starts an RDB file, an RDB base file or an RDB preamble.
const rdbMagic = "REDIS"

// readBufSize is the loader's read buffer (and the longest line it can
// look at before giving up on it).
const readBufSize = 64 << 10

// Handler receives what the loader reads, in order.
type Handler struct {
	// RDB reads an RDB base file or the RDB preamble of a legacy AOF. r is
	// positioned at "REDIS"; RDB must consume exactly the RDB, through the
	// EOF opcode and the 8-byte checksum, and nothing more: the commands
	// that may follow are read from the same r. (bufio.NewReaderSize(r, n)
	// with n <= r.Size() returns r itself, so it can be passed on.) When
	// RDB is nil an RDB part is an error.
	RDB func(file string, r *bufio.Reader) error
	// Command executes one command. args alias the loader's buffer and are
	// valid only during the call. offset is where the command starts in
	// file. A transaction is delivered only once its EXEC has been read:
	// MULTI, the queued commands and EXEC in a row.
	Command func(file string, offset int64, args [][]byte) error
}

// FileResult describes one loaded file.
type FileResult struct {
	Name     string
	Size     int64
	RDB      bool  // the file started with an RDB (base or preamble)
	Commands int64 // commands delivered, MULTI and EXEC included
}

// LoadFile loads one AOF file (RDB part, if any, then commands). name is
// the file's name for messages and callbacks. A torn tail is returned as
// a *LoadError of kind ErrUnexpectedEOF whose Offset is where the file
// should be truncated (the start of the incomplete command, or of the
// MULTI of an unterminated transaction); everything before it has been
// delivered. Other errors: *LoadError of kind ErrBadFormat, or errors of
// the callbacks and of I/O, wrapped with the file name and offset.
func LoadFile(path, name string, h Handler) (FileResult, error) {
	res := FileResult{Name: name}
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("open the append only file %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("stat the append only file %s: %w", name, err)
	}
	res.Size = st.Size()
	return loadStream(f, name, res.Size, h, res)
}

// loadStream is LoadFile on any reader of size bytes.
func loadStream(in io.Reader, name string, size int64, h Handler, res FileResult) (FileResult, error) {
	if size == 0 {
		return res, nil
	}
	cr := &countingReader{r: in}
	br := bufio.NewReaderSize(cr, readBufSize)
	var off int64
	if magic, _ := br.Peek(len(rdbMagic)); string(magic) == rdbMagic {
		res.RDB = true
		if h.RDB == nil {
			return res, fmt.Errorf("the append only file %s starts with an RDB and no RDB loader was given", name)
		}
		if err := h.RDB(name, br); err != nil {
			return res, fmt.Errorf("error reading the RDB part of the append only file %s, AOF loading aborted: %w", name, err)
		}
		off = cr.n - int64(br.Buffered())
	}
	rd := NewReader(br, name, off, size)
	var txn *pending
	for {
		args, start, err := rd.Next()
		if err == io.EOF {
			break
		}
		if _, torn := IsTruncated(err); torn && txn != nil {
			// Drop the whole unterminated transaction, as Redis does.
			return res, &LoadError{File: name, Offset: txn.offsets[0], Kind: ErrUnexpectedEOF,
				Detail: "end of file inside a MULTI/EXEC transaction"}
		}
		if err != nil {
			return res, err
		}
		if txn != nil {
			txn.add(start, args)
			if !isCmd(args, "exec") {
				continue
			}
			for i := range txn.offsets {
				if err := h.call(name, txn.offsets[i], txn.cmds[i]); err != nil {
					return res, err
				}
				res.Commands++
			}
			txn = nil
			continue
		}
		if isCmd(args, "multi") {
			txn = &pending{}
			txn.add(start, args)
			continue
		}
		if err := h.call(name, start, args); err != nil {
			return res, err
		}
		res.Commands++
	}
	if txn != nil {
		return res, &LoadError{File: name, Offset: txn.offsets[0], Kind: ErrUnexpectedEOF,
			Detail: "incomplete MULTI/EXEC transaction"}
	}
	return res, nil
}

func (h Handler) call(name string, off int64, args [][]byte) error {
	if h.Command == nil {
		return nil
	}
	if err := h.Command(name, off, args); err != nil {
		return fmt.Errorf("append only file %s at offset %d: %w", name, off, err)
	}
	return nil
}

// pending holds a transaction until its EXEC (copies: the Reader reuses
// its buffer).
type pending struct {
	offsets []int64
	cmds    [][][]byte
}

func (p *pending) add(off int64, args [][]byte) {
	c := make([][]byte, len(args))
	for i, a := range args {
		c[i] = bytes.Clone(a)
	}
	p.offsets = append(p.offsets, off)
	p.cmds = append(p.cmds, c)
}

// isCmd reports whether args is the command name (ASCII case-insensitive).
func isCmd(args [][]byte, name string) bool {
	return len(args) > 0 && bytes.EqualFold(args[0], []byte(name))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// IsTruncated reports whether err is a torn tail (ErrUnexpectedEOF) and
// returns the offset to truncate its file to.
func IsTruncated(err error) (offset int64, ok bool) {
	var le *LoadError
	if errors.As(err, &le) && le.Kind == ErrUnexpectedEOF {
		return le.Offset, true
	}
	return 0, false
}
