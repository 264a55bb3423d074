package sasl

import (
	"errors"
	"fmt"
	"testing"
)

func TestCondition(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrNotAuthorized, "not-authorized"},
		{fmt.Errorf("scram: proof: %w", ErrNotAuthorized), "not-authorized"},
		{fmt.Errorf("%w: x", ErrMalformedRequest), "malformed-request"},
		{ErrInvalidAuthzid, "invalid-authzid"},
		{ErrInvalidMechanism, "invalid-mechanism"},
		{ErrIncorrectEncoding, "incorrect-encoding"},
		{ErrAborted, "aborted"},
		{ErrAccountDisabled, "account-disabled"},
		{ErrCredentialsExpired, "credentials-expired"},
		{ErrEncryptionRequired, "encryption-required"},
		{ErrMechanismTooWeak, "mechanism-too-weak"},
		{ErrTemporaryAuthFailure, "temporary-auth-failure"},
		{errors.New("disk on fire"), "temporary-auth-failure"},
	}
	for _, tc := range tests {
		if got := Condition(tc.err); got != tc.want {
			t.Errorf("Condition(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestPayload(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{"", nil},
		{"=", []byte{}},
		{"biws", []byte("n,,")},
		{"bi\r\nws", []byte("n,,")},
		{"AA==", []byte{0}},
	} {
		got, err := DecodePayload(tc.in)
		if err != nil || string(got) != string(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("DecodePayload(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"b", "biw!", "AB==", "==", "AA="} {
		if got, err := DecodePayload(bad); !errors.Is(err, ErrIncorrectEncoding) {
			t.Errorf("DecodePayload(%q) = %q, %v; want ErrIncorrectEncoding", bad, got, err)
		}
	}
	if EncodePayload(nil) != "=" || EncodePayload([]byte("n,,")) != "biws" {
		t.Error("EncodePayload")
	}
}
