package richmsg_test

import (
	"testing"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/richmsg"
)

func sc(origin string, node kv.Map) kv.Map {
	return kv.Map{"structured-content": kv.Map{origin: node}}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name  string
		text  string
		attrs kv.Map
		field string // "" = accepted
	}{
		{"no attributes", "hi", nil, ""},
		{"other attributes only", "", kv.Map{"general-properties": kv.Map{"related-event-id": "3"}}, ""},
		{"widget without type", "Pick one", sc("genesys-chat", kv.Map{"content": `{"type":"QuickReplies"}`}), ""},
		{"widget with type", "Pick one", sc("genesys-chat", kv.Map{"content": `[1,2]`, "type": "carousel"}), ""},
		{"content as object", "Pick one", sc("genesys-chat", kv.Map{"content": kv.Map{"text": "x"}}), ""},
		{"apple with type", "Pay", sc("applebc-session", kv.Map{"content": `{}`, "type": "applePay"}), ""},
		{"apple without type", "Pay", sc("applebc-session", kv.Map{"content": `{}`}), "eventAttributes.structured-content.applebc-session.type"},
		{"unknown origin without type", "x", sc("other", kv.Map{"content": `{}`}), "eventAttributes.structured-content.other.type"},
		{"malformed JSON", "x", sc("genesys-chat", kv.Map{"content": `{"a":`}), "eventAttributes.structured-content.genesys-chat.content"},
		{"no content", "x", sc("genesys-chat", kv.Map{"type": "t"}), "eventAttributes.structured-content.genesys-chat.content"},
		{"empty type", "x", sc("genesys-chat", kv.Map{"content": "{}", "type": " "}), "eventAttributes.structured-content.genesys-chat.type"},
		{"origin not a list", "x", kv.Map{"structured-content": kv.Map{"genesys-chat": "{}"}}, "eventAttributes.structured-content.genesys-chat"},
		{"structured-content a string", "x", kv.Map{"structured-content": "{}"}, "eventAttributes.structured-content"},
		{"no origin", "x", kv.Map{"structured-content": kv.Map{}}, "eventAttributes.structured-content"},
		{"no fallback", " ", sc("genesys-chat", kv.Map{"content": `{}`}), "message"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := richmsg.Check("message", c.text, c.attrs)
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.field != "" && (err == nil || err.Field != c.field):
				t.Fatalf("got %v, want a failure of %s", err, c.field)
			}
		})
	}
}
