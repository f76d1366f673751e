package brl_test

import (
	"fmt"
	"log"

	"github.com/biztier/biztier/rules/brl"
)

// Parse accepts a quirk of real exports (a second <version>) with a
// warning, and Write gives back a document that parses equal.
func ExampleParse() {
	res, err := brl.Parse([]byte(`<?xml version="1.0" encoding="utf-8"?>
<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <ruleset name="Discounts">
    <version major="1" minor="2" />
    <version major="1" minor="0" />
    <bindings />
    <rule name="always" priority="-1" active="true">
      <if />
      <then><halt /></then>
    </rule>
  </ruleset>
</brl>`))
	if err != nil {
		log.Fatal(err)
	}
	rs := res.Document.Rulesets[0]
	fmt.Printf("%s %d.%d, %d rule, priority %d\n", rs.Name, rs.Version.Major, rs.Version.Minor, len(rs.Rules), rs.Rules[0].Priority)
	for _, w := range res.Warnings {
		fmt.Println("warning at line", w.Line)
	}
	out, err := brl.Write(res.Document)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// Discounts 1.2, 1 rule, priority -1
	// warning at line 5
	// <?xml version="1.0" encoding="utf-8"?>
	// <brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
	//   <ruleset name="Discounts">
	//     <version major="1" minor="2" description="" modifiedby="" date="" />
	//     <version major="1" minor="0" description="" modifiedby="" date="" />
	//     <bindings />
	//     <rule name="always" priority="-1" active="true">
	//       <if />
	//       <then>
	//         <halt />
	//       </then>
	//     </rule>
	//   </ruleset>
	// </brl>
}
