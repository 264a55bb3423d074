package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Domain removal step: MUC Light rooms, their affiliations index and room block lists.
func init() {
	registerDomainData("muc_light", 10, bucketMUCLightRooms, bucketMUCLightUserRooms, bucketMUCLightBlocking)
}

// MUC Light rooms (mod_muc_light). Every key starts with the PARENT domain of the
// service (a.com for rooms at muclight.a.com), so removing a.com purges its rooms:
//
//	muclight_rooms       "a.com\x00room"                       -> JSON MUCLightRoom
//	muclight_user_rooms  "a.com\x00alice@a.com\x00room"        -> empty (user -> rooms index)
//	muclight_blocking    "a.com\x00alice@a.com\x00kind\x00jid" -> empty
var (
	bucketMUCLightRooms     = []byte("muclight_rooms")
	bucketMUCLightUserRooms = []byte("muclight_user_rooms")
	bucketMUCLightBlocking  = []byte("muclight_blocking")
)

// MUC Light errors, matched with errors.Is after Apply (also across the cluster port).
var (
	ErrMUCLightRoomExists   = newCodeErr("muclight_room_exists", "Room already exists")
	ErrMUCLightRoomNotFound = newCodeErr("muclight_room_not_found", "Room does not exist")
	ErrMUCLightConflict     = newCodeErr("muclight_conflict", "Room changed concurrently")
	ErrMUCLightTooManyRooms = newCodeErr("muclight_too_many_rooms", "Too many rooms for a user")
)

// MUCLightAff is one occupant: a bare JID and "owner" or "member".
type MUCLightAff struct {
	User string `json:"u"`
	Aff  string `json:"a"`
}

// MUCLightField is one configuration field, in schema order.
type MUCLightField struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// MUCLightRoom is a room's whole state. Version changes on every write; the writer
// chooses it before proposing.
type MUCLightRoom struct {
	Version string          `json:"ver"`
	Config  []MUCLightField `json:"cfg"`
	Affs    []MUCLightAff   `json:"affs"`
}

// Aff returns user's affiliation, "" if none.
func (r *MUCLightRoom) Aff(user string) string {
	for _, a := range r.Affs {
		if a.User == user {
			return a.Aff
		}
	}
	return ""
}

// ConfigValue returns a configuration field's value.
func (r *MUCLightRoom) ConfigValue(name string) (string, bool) {
	for _, f := range r.Config {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// PutMUCLightRoom creates a room (Create) or replaces its state when its current
// version is PrevVersion (compare-and-set: concurrent writers get
// ErrMUCLightConflict and retry from a fresh read). The user->rooms index follows the
// occupant list. Users who join get checked against RoomsPerUser (0: no limit).
type PutMUCLightRoom struct {
	Domain       string
	Room         string
	Create       bool
	PrevVersion  string
	State        MUCLightRoom
	RoomsPerUser int
	Static       bool
}

func (m *PutMUCLightRoom) Apply(tx *bolt.Tx) (any, error) {
	if m.Room == "" || m.State.Version == "" {
		return nil, errors.New("store: muclight room without name or version")
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	rooms := tx.Bucket(bucketMUCLightRooms)
	k := domainKey(m.Domain, m.Room)
	old, exists, err := getMUCLightRoom(rooms, k)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Create && exists:
		return nil, ErrMUCLightRoomExists
	case !m.Create && !exists:
		return nil, ErrMUCLightRoomNotFound
	case !m.Create && old.Version != m.PrevVersion:
		return nil, ErrMUCLightConflict
	}
	idx := tx.Bucket(bucketMUCLightUserRooms)
	var added, removed []string
	for _, a := range m.State.Affs {
		if old.Aff(a.User) == "" {
			added = append(added, a.User)
		}
	}
	for _, a := range old.Affs {
		if m.State.Aff(a.User) == "" {
			removed = append(removed, a.User)
		}
	}
	if m.RoomsPerUser > 0 {
		for _, u := range added {
			if countPrefix(idx, domainKey(m.Domain, u+"\x00")) >= m.RoomsPerUser {
				return nil, ErrMUCLightTooManyRooms
			}
		}
	}
	v, err := json.Marshal(&m.State)
	if err != nil {
		return nil, fmt.Errorf("store: encode muclight room: %w", err)
	}
	if err := rooms.Put(k, v); err != nil {
		return nil, err
	}
	for _, u := range added {
		if err := idx.Put(domainKey(m.Domain, u+"\x00"+m.Room), []byte{}); err != nil {
			return nil, err
		}
	}
	for _, u := range removed {
		if err := idx.Delete(domainKey(m.Domain, u+"\x00"+m.Room)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// DeleteMUCLightRoom destroys a room whose version is PrevVersion.
type DeleteMUCLightRoom struct {
	Domain      string
	Room        string
	PrevVersion string
}

func (m *DeleteMUCLightRoom) Apply(tx *bolt.Tx) (any, error) {
	rooms := tx.Bucket(bucketMUCLightRooms)
	k := domainKey(m.Domain, m.Room)
	old, exists, err := getMUCLightRoom(rooms, k)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, ErrMUCLightRoomNotFound
	}
	if old.Version != m.PrevVersion {
		return nil, ErrMUCLightConflict
	}
	idx := tx.Bucket(bucketMUCLightUserRooms)
	for _, a := range old.Affs {
		if err := idx.Delete(domainKey(m.Domain, a.User+"\x00"+m.Room)); err != nil {
			return nil, err
		}
	}
	return nil, rooms.Delete(k)
}

// MUCLightBlockItem is one entry of a user's MUC Light block list: Kind is "room" or
// "user", JID the blocked address.
type MUCLightBlockItem struct {
	Kind string
	JID  string
}

// SetMUCLightBlocking blocks (Block true) or unblocks items for User (a bare JID) at
// the service of Domain.
type SetMUCLightBlocking struct {
	Domain string
	User   string
	Block  bool
	Items  []MUCLightBlockItem
	Static bool
}

func (m *SetMUCLightBlocking) Apply(tx *bolt.Tx) (any, error) {
	if m.User == "" {
		return nil, errors.New("store: muclight blocking without user")
	}
	if err := checkDomainServes(tx, m.Domain, m.Static); err != nil {
		return nil, err
	}
	for _, it := range m.Items {
		if it.Kind != "room" && it.Kind != "user" {
			return nil, fmt.Errorf("store: muclight blocking kind %q", it.Kind)
		}
	}
	b := tx.Bucket(bucketMUCLightBlocking)
	if m.Block && countPrefix(b, domainKey(m.Domain, m.User+"\x00"))+len(m.Items) > MaxBlocklist {
		return nil, ErrBlocklistFull
	}
	for _, it := range m.Items {
		k := domainKey(m.Domain, m.User+"\x00"+it.Kind+"\x00"+it.JID)
		var err error
		if m.Block {
			err = b.Put(k, []byte{})
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// GetMUCLightRoom reads a room of the service of domain.
func GetMUCLightRoom(tx *bolt.Tx, domain, room string) (MUCLightRoom, bool, error) {
	return getMUCLightRoom(tx.Bucket(bucketMUCLightRooms), domainKey(domain, room))
}

func getMUCLightRoom(b *bolt.Bucket, k []byte) (MUCLightRoom, bool, error) {
	var r MUCLightRoom
	v := b.Get(k)
	if v == nil {
		return r, false, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, false, fmt.Errorf("store: decode muclight room %q: %w", k, err)
	}
	return r, true, nil
}

// MUCLightUserRooms returns up to max (0: all) of user's room names after 'after'
// (exclusive, "" from the start), in name order, and the total count. The cursor seeks
// the user's index range: no scan of other users' rooms.
func MUCLightUserRooms(tx *bolt.Tx, domain, user, after string, max int) (rooms []string, total int) {
	prefix := domainKey(domain, user+"\x00")
	c := tx.Bucket(bucketMUCLightUserRooms).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		total++
		name := string(k[len(prefix):])
		if name <= after && after != "" || (max > 0 && len(rooms) >= max) {
			continue
		}
		rooms = append(rooms, name)
	}
	return rooms, total
}

// MUCLightBlocked returns user's block list, sorted.
func MUCLightBlocked(tx *bolt.Tx, domain, user string) []MUCLightBlockItem {
	prefix := domainKey(domain, user+"\x00")
	var out []MUCLightBlockItem
	c := tx.Bucket(bucketMUCLightBlocking).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		kind, j, ok := bytes.Cut(k[len(prefix):], []byte{0})
		if ok {
			out = append(out, MUCLightBlockItem{Kind: string(kind), JID: string(j)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].JID < out[j].Kind+out[j].JID })
	return out
}

// MUCLightIsBlocked reports whether user blocked the item.
func MUCLightIsBlocked(tx *bolt.Tx, domain, user, kind, j string) bool {
	return tx.Bucket(bucketMUCLightBlocking).Get(domainKey(domain, user+"\x00"+kind+"\x00"+j)) != nil
}

func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}
