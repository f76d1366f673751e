package biztier_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A policy imported from BRL into the group's rule store, published,
// deployed and run on an XML document by the runtime, which always runs
// the highest deployed version.
func ExampleGroup_Rules() {
	ctx := context.Background()
	g, err := biztier.Open("group", &biztier.Options{FS: vfs.NewMem(), MemTableSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	store, err := g.Rules(nil)
	if err != nil {
		log.Fatal(err)
	}
	doc, err := brl.Parse([]byte(`<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <ruleset name="Approve">
    <version major="1" minor="0" />
    <bindings>
      <xmldocument ref="order" doctype="Order"><selector>/Order</selector></xmldocument>
    </bindings>
    <rule name="small orders" priority="0" active="true">
      <if>
        <compare operator="less than">
          <lhs><function><xmldocumentmember xmldocumentref="order" type="decimal" sideeffects="false"><field>Total</field></xmldocumentmember></function></lhs>
          <rhs><constant><decimal>100</decimal></constant></rhs>
        </compare>
      </if>
      <then>
        <function>
          <xmldocumentmember xmldocumentref="order" type="string" sideeffects="true"><field>Status</field>
            <argument><constant><string>approved</string></constant></argument>
          </xmldocumentmember>
        </function>
      </then>
    </rule>
  </ruleset>
</brl>`))
	if err != nil {
		log.Fatal(err)
	}
	v1 := rules.Version{Major: 1, Minor: 0}
	if err := store.Import(ctx, doc.Document); err != nil {
		log.Fatal(err)
	}
	if err := store.PublishPolicy(ctx, "Approve", v1); err != nil {
		log.Fatal(err)
	}
	if err := store.Deploy(ctx, "Approve", v1); err != nil {
		log.Fatal(err)
	}
	order, err := rules.ParseXMLDocument("Order", strings.NewReader(`<Order><Total>42.50</Total><Status>new</Status></Order>`))
	if err != nil {
		log.Fatal(err)
	}
	res, ran, err := rules.NewRuntime(store, nil).Execute(ctx, "Approve", order)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %s fired %d rule: %s\n", ran, res.Firings, order)
	// Output: version 1.0 fired 1 rule: <?xml version="1.0"?><Order><Total>42.50</Total><Status>approved</Status></Order>
}
