package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: one-to-one and MUC Light room archives, their indexes and preferences.
func init() { registerDomainData("mam", 20, bucketMAM, bucketMAMWith, bucketMAMMeta, bucketMAMPrefs) }

// The message archive (XEP-0313, mod_mam) of one-to-one chats. Every archive owner
// (an account) has:
//
//   - bucketMAM: "domain\x00user\x00<id, 8 bytes big-endian>" -> "with\x00xml", the
//     message as the XMPP layer serialised it and the bare JID of the other party.
//   - bucketMAMWith: "domain\x00user\x00with\x00<id8>" -> "", an index per
//     conversation, so a query with a "with" filter seeks instead of scanning.
//   - bucketMAMMeta: "domain\x00user" and "domain\x00user\x00with" -> the number of
//     messages (8 bytes), so an RSM <count/> of an unbounded query costs one Get.
//   - bucketMAMPrefs: "domain\x00user" -> the archiving preferences.
//
// Ids are decided before proposing (time-ordered, see xmpp/mam), so Apply is
// deterministic and big-endian keys sort in time order. All four buckets are
// domain-scoped.

var (
	bucketMAM      = []byte("mam")
	bucketMAMWith  = []byte("mam_with")
	bucketMAMMeta  = []byte("mam_meta")
	bucketMAMPrefs = []byte("mam_prefs")
)

// ErrMAMNotFound is an RSM before/after id that is not in the archive.
var ErrMAMNotFound = newCodeErr("mam_not_found", "Message with specified ID is not found")

// ArchiveRecord is one message in one owner's archive.
type ArchiveRecord struct {
	Domain, User string
	ID           uint64
	// With is the bare JID of the other party.
	With string
	XML  string
	// Dynamic is set by the proposer for dynamic domains (see acceptsData).
	Dynamic bool
}

// ArchiveMessages appends messages to their owners' archives: a whole batch in one
// raft entry. A record whose id is already archived is skipped, so a batch proposed
// twice (a retry after a lost answer) archives each message once.
type ArchiveMessages struct {
	Records []ArchiveRecord
}

func mamOwnerPrefix(domain, user string) []byte { return domainKey(domain, user+"\x00") }

func mamWithPrefix(domain, user, with string) []byte {
	return domainKey(domain, user+"\x00"+with+"\x00")
}

func idKey(prefix []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(prefix), id)
}

func getCount(b *bolt.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putCount(b *bolt.Bucket, k []byte, n uint64) error {
	if n == 0 {
		return b.Delete(k)
	}
	return b.Put(k, binary.BigEndian.AppendUint64(nil, n))
}

// Apply implements Mutation.
func (m *ArchiveMessages) Apply(tx *bolt.Tx) (any, error) {
	for _, r := range m.Records {
		if r.Domain == "" || r.User == "" || r.With == "" {
			return nil, errors.New("store: archive record without domain, user or with")
		}
	}
	data, with, meta := tx.Bucket(bucketMAM), tx.Bucket(bucketMAMWith), tx.Bucket(bucketMAMMeta)
	counts := map[string]uint64{}
	bump := func(k []byte) {
		s := string(k)
		n, ok := counts[s]
		if !ok {
			n = getCount(meta, k)
		}
		counts[s] = n + 1
	}
	accepts := map[string]bool{}
	for _, r := range m.Records {
		ok, seen := accepts[r.Domain]
		if !seen {
			ok = acceptsData(tx, r.Domain, r.Dynamic)
			accepts[r.Domain] = ok
		}
		if !ok {
			// The archive it would join is being deleted; the batch's other
			// records belong to other senders.
			continue
		}
		k := idKey(mamOwnerPrefix(r.Domain, r.User), r.ID)
		if data.Get(k) != nil {
			continue
		}
		v := make([]byte, 0, len(r.With)+1+len(r.XML))
		v = append(append(append(v, r.With...), 0), r.XML...)
		if err := data.Put(k, v); err != nil {
			return nil, fmt.Errorf("store: archive put: %w", err)
		}
		if err := with.Put(idKey(mamWithPrefix(r.Domain, r.User, r.With), r.ID), nil); err != nil {
			return nil, fmt.Errorf("store: archive index: %w", err)
		}
		bump(domainKey(r.Domain, r.User))
		bump(domainKey(r.Domain, r.User+"\x00"+r.With))
	}
	for k, n := range counts {
		if err := putCount(meta, []byte(k), n); err != nil {
			return nil, fmt.Errorf("store: archive count: %w", err)
		}
	}
	return nil, nil
}

// RemoveArchive deletes up to Limit messages (all when Limit <= 0) of an owner's
// archive, oldest first; the call that empties it also deletes the preferences.
// Account removal repeats it until ArchiveCount is 0, so a huge archive never holds
// the FSM in one transaction.
type RemoveArchive struct {
	Domain, User string
	Limit        int
}

// Apply implements Mutation.
func (m *RemoveArchive) Apply(tx *bolt.Tx) (any, error) {
	if m.Domain == "" || m.User == "" {
		return nil, errors.New("store: archive removal without domain or user")
	}
	data, with, meta := tx.Bucket(bucketMAM), tx.Bucket(bucketMAMWith), tx.Bucket(bucketMAMMeta)
	prefix := mamOwnerPrefix(m.Domain, m.User)
	owner := domainKey(m.Domain, m.User)
	n := 0
	counts := map[string]uint64{}
	c := data.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		if m.Limit > 0 && n >= m.Limit {
			break
		}
		w, _, _ := bytes.Cut(v, []byte{0})
		id := binary.BigEndian.Uint64(k[len(prefix):])
		if err := with.Delete(idKey(mamWithPrefix(m.Domain, m.User, string(w)), id)); err != nil {
			return nil, err
		}
		if err := c.Delete(); err != nil {
			return nil, err
		}
		wk := domainKey(m.Domain, m.User+"\x00"+string(w))
		if _, ok := counts[string(wk)]; !ok {
			counts[string(wk)] = getCount(meta, wk)
		}
		counts[string(wk)]--
		n++
	}
	counts[string(owner)] = getCount(meta, owner) - min(getCount(meta, owner), uint64(n))
	k, _ := data.Cursor().Seek(prefix)
	empty := k == nil || !bytes.HasPrefix(k, prefix)
	if empty {
		// Whatever the counters said, an empty archive counts 0: removal loops on it.
		counts[string(owner)] = 0
	}
	for k, v := range counts {
		if err := putCount(meta, []byte(k), v); err != nil {
			return nil, err
		}
	}
	if empty {
		if err := tx.Bucket(bucketMAMPrefs).Delete(owner); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// ArchiveCount is the number of messages in an owner's archive (with == "") or in
// its conversation with one bare JID.
func ArchiveCount(tx *bolt.Tx, domain, user, with string) int {
	k := domainKey(domain, user)
	if with != "" {
		k = domainKey(domain, user+"\x00"+with)
	}
	return int(getCount(tx.Bucket(bucketMAMMeta), k))
}

// ArchivedMessage is one archived message.
type ArchivedMessage struct {
	ID   uint64
	With string
	XML  string
}

// ArchiveQuery selects messages of one owner's archive. Bounds are inclusive ids;
// the caller turns times and exclusive ids into them.
type ArchiveQuery struct {
	Domain, User string
	With         string // bare JID, or "" for all
	From, To     uint64 // inclusive; To == 0 means no upper bound
	// IDs, when set, selects exactly these messages (within the bounds).
	IDs []uint64
	// RSM: After pages forward from an id, Before backward; Last (RSM's empty
	// <before/>) asks for the last page.
	After, Before uint64
	Last          bool
	Max           int
}

// ArchivePage is a query's answer: messages in ascending id order, whether the page
// reaches the end of the selection in the paging direction, and the size of the
// whole selection (without RSM).
type ArchivePage struct {
	Messages []ArchivedMessage
	Complete bool
	Count    int
}

// QueryArchive answers q with cursor seeks over the owner's index (or the
// conversation index when With is set): it reads at most Max+1 keys of the page,
// plus the keys of a bounded range when the count cannot come from the counters.
func QueryArchive(tx *bolt.Tx, q ArchiveQuery) (ArchivePage, error) {
	data := tx.Bucket(bucketMAM)
	owner := mamOwnerPrefix(q.Domain, q.User)
	for _, id := range []uint64{q.After, q.Before} {
		if id != 0 && data.Get(idKey(owner, id)) == nil {
			return ArchivePage{}, ErrMAMNotFound
		}
	}
	lo, hi := q.From, q.To
	if hi == 0 {
		hi = math.MaxUint64
	}
	if len(q.IDs) > 0 {
		return queryIDs(data, owner, q, lo, hi), nil
	}
	index, prefix := data, owner
	if q.With != "" {
		index, prefix = tx.Bucket(bucketMAMWith), mamWithPrefix(q.Domain, q.User, q.With)
	}
	var page ArchivePage
	if lo == 0 && hi == math.MaxUint64 {
		page.Count = ArchiveCount(tx, q.Domain, q.User, q.With)
	} else {
		page.Count = countRange(index, prefix, lo, hi)
	}
	if q.After != 0 {
		lo = max(lo, q.After+1)
	}
	backward := q.Last || q.Before != 0
	if q.Before != 0 {
		hi = min(hi, q.Before-1)
	}
	if lo > hi || (q.Before == 1) {
		page.Complete = true
		return page, nil
	}
	var ids []uint64
	c := index.Cursor()
	want := q.Max + 1
	if backward {
		hiKey := idKey(prefix, hi)
		k, _ := c.Seek(hiKey)
		if k == nil {
			k, _ = c.Last()
		} else if !bytes.Equal(k, hiKey) {
			k, _ = c.Prev()
		}
		for ; k != nil && len(ids) < want; k, _ = c.Prev() {
			id, ok := keyID(k, prefix)
			if !ok || id < lo {
				break
			}
			ids = append(ids, id)
		}
		// Ascending order for the caller.
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
		if len(ids) == want {
			ids = ids[1:]
		} else {
			page.Complete = true
		}
	} else {
		for k, _ := c.Seek(idKey(prefix, lo)); k != nil && len(ids) < want; k, _ = c.Next() {
			id, ok := keyID(k, prefix)
			if !ok || id > hi {
				break
			}
			ids = append(ids, id)
		}
		if len(ids) == want {
			ids = ids[:q.Max]
		} else {
			page.Complete = true
		}
	}
	page.Messages = make([]ArchivedMessage, 0, len(ids))
	for _, id := range ids {
		if m, ok := readArchived(data, owner, id); ok {
			page.Messages = append(page.Messages, m)
		}
	}
	return page, nil
}

func keyID(k, prefix []byte) (uint64, bool) {
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), true
}

func readArchived(data *bolt.Bucket, owner []byte, id uint64) (ArchivedMessage, bool) {
	v := data.Get(idKey(owner, id))
	if v == nil {
		return ArchivedMessage{}, false
	}
	w, xml, _ := bytes.Cut(v, []byte{0})
	return ArchivedMessage{ID: id, With: string(w), XML: string(xml)}, true
}

func countRange(index *bolt.Bucket, prefix []byte, lo, hi uint64) int {
	n := 0
	c := index.Cursor()
	for k, _ := c.Seek(idKey(prefix, lo)); k != nil; k, _ = c.Next() {
		id, ok := keyID(k, prefix)
		if !ok || id > hi {
			break
		}
		n++
	}
	return n
}

func queryIDs(data *bolt.Bucket, owner []byte, q ArchiveQuery, lo, hi uint64) ArchivePage {
	page := ArchivePage{Complete: true}
	seen := map[uint64]bool{}
	for _, id := range q.IDs {
		if id < lo || id > hi || seen[id] {
			continue
		}
		seen[id] = true
		m, ok := readArchived(data, owner, id)
		if !ok || (q.With != "" && m.With != q.With) {
			continue
		}
		page.Messages = append(page.Messages, m)
	}
	sortArchived(page.Messages)
	page.Count = len(page.Messages)
	if q.Max >= 0 && len(page.Messages) > q.Max {
		page.Messages = page.Messages[:q.Max]
		page.Complete = false
	}
	return page
}

func sortArchived(ms []ArchivedMessage) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].ID < ms[j-1].ID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// ArchiveBounds returns the first and last message ids of an owner's archive (XEP-0313
// metadata); ok is false for an empty archive.
func ArchiveBounds(tx *bolt.Tx, domain, user string) (first, last uint64, ok bool) {
	prefix := mamOwnerPrefix(domain, user)
	c := tx.Bucket(bucketMAM).Cursor()
	k, _ := c.Seek(prefix)
	first, ok = keyID(k, prefix)
	if !ok {
		return 0, 0, false
	}
	k, _ = c.Seek(idKey(prefix, math.MaxUint64))
	if k == nil {
		k, _ = c.Last()
	} else if id, isOwn := keyID(k, prefix); !isOwn || id != math.MaxUint64 {
		k, _ = c.Prev()
	}
	last, _ = keyID(k, prefix)
	return first, last, true
}

// MAMPrefs are an owner's archiving preferences (XEP-0313 section 6): Default is
// "always", "never" or "roster"; Always and Never list bare JIDs.
type MAMPrefs struct {
	Default       string
	Always, Never []string
}

// SetMAMPrefs replaces an owner's preferences.
type SetMAMPrefs struct {
	Domain, User string
	Prefs        MAMPrefs
	// Dynamic is set by the proposer for dynamic domains (see acceptsData).
	Dynamic bool
}

// Apply implements Mutation.
func (m *SetMAMPrefs) Apply(tx *bolt.Tx) (any, error) {
	switch m.Prefs.Default {
	case "always", "never", "roster":
	default:
		return nil, fmt.Errorf("store: invalid MAM default %q", m.Prefs.Default)
	}
	if m.Domain == "" || m.User == "" {
		return nil, errors.New("store: MAM prefs without domain or user")
	}
	if !acceptsData(tx, m.Domain, m.Dynamic) {
		return nil, ErrDomainDisabled
	}
	v := appendString(nil, m.Prefs.Default)
	v = binary.AppendUvarint(v, uint64(len(m.Prefs.Always)))
	for _, j := range m.Prefs.Always {
		v = appendString(v, j)
	}
	v = binary.AppendUvarint(v, uint64(len(m.Prefs.Never)))
	for _, j := range m.Prefs.Never {
		v = appendString(v, j)
	}
	return nil, tx.Bucket(bucketMAMPrefs).Put(domainKey(m.Domain, m.User), v)
}

// GetMAMPrefs reads an owner's preferences; ok is false when none are stored.
func GetMAMPrefs(tx *bolt.Tx, domain, user string) (p MAMPrefs, ok bool) {
	v := tx.Bucket(bucketMAMPrefs).Get(domainKey(domain, user))
	if v == nil {
		return MAMPrefs{}, false
	}
	var good bool
	if p.Default, v, good = readString(v); !good {
		return MAMPrefs{}, false
	}
	list := func() []string {
		n, rest, ok := readUvarint(v)
		if !ok {
			return nil
		}
		v = rest
		out := make([]string, 0, n)
		for range n {
			var s string
			if s, v, ok = readString(v); !ok {
				return out
			}
			out = append(out, s)
		}
		return out
	}
	p.Always = list()
	p.Never = list()
	return p, true
}
