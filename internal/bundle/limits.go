package bundle

// Limits bound what a reader accepts. The defaults are far above any real
// bundle and far below what would hurt the process.
type Limits struct {
	MaxFiles      int   // entries in a tarball or directory
	MaxFileBytes  int64 // one file
	MaxTotalBytes int64 // all files together, uncompressed
	MaxNodes      int   // YAML nodes after alias expansion
	MaxDepth      int   // YAML nesting
}

// DefaultLimits are used when a zero Limits is passed.
var DefaultLimits = Limits{
	MaxFiles:      1000,
	MaxFileBytes:  8 << 20,
	MaxTotalBytes: 64 << 20,
	MaxNodes:      200_000,
	MaxDepth:      64,
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.MaxFiles > 0 {
		d.MaxFiles = l.MaxFiles
	}
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	if l.MaxTotalBytes > 0 {
		d.MaxTotalBytes = l.MaxTotalBytes
	}
	if l.MaxNodes > 0 {
		d.MaxNodes = l.MaxNodes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	return d
}

// budget charges what a reader takes in against Limits, the same way for
// every form: entries against MaxFiles, each file against MaxFileBytes and
// their sum against MaxTotalBytes. The caller words the error for its form.
type budget struct {
	lim     Limits
	entries int
	total   int64
}

// entry counts one more entry and reports whether it is within MaxFiles.
func (b *budget) entry() bool {
	b.entries++
	return b.entries <= b.lim.MaxFiles
}

// fileFits reports whether one file of n bytes is within MaxFileBytes.
func (b *budget) fileFits(n int64) bool { return n <= b.lim.MaxFileBytes }

// add charges n more bytes and reports whether the total is still within
// MaxTotalBytes.
func (b *budget) add(n int64) bool {
	b.total += n
	return b.total <= b.lim.MaxTotalBytes
}
