package loam

import (
	"bufio"
	"io"
	"strings"
)

// readEvents reads Server-Sent Events from r until it ends or dispatch fails, calling dispatch with
// each event's name and data (comment lines skipped) and touched after every line read. It
// returns dispatch's error, a *Error of KindConnection when reading failed, or nil at the end.
func readEvents(r io.Reader, touched func(), dispatch func(event, data string) error) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var event, data strings.Builder
	for scanner.Scan() {
		if touched != nil {
			touched()
		}
		line := strings.TrimSuffix(scanner.Text(), "\r")
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := dispatch(event.String(), data.String()); err != nil {
					return err
				}
			}
			event.Reset()
			data.Reset()
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event:"):
			event.Reset()
			event.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "event:"), " "))
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := scanner.Err(); err != nil {
		return &Error{Kind: KindConnection, Detail: "the stream broke: " + err.Error(), Err: err}
	}
	return nil
}
