package rules_test

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
)

// Order is a Go fact: the policy reads Total and writes Discount.
type Order struct {
	Total    float64
	Discount float64
}

// priorityPolicy is BizTalk's agenda-and-priority example: both rules match;
// the priority 10 rule fires first and sets 15 %, the priority 0 rule fires
// last and sets 10 %, and the last writer wins.
const priorityPolicy = `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <ruleset name="Discounts">
    <version major="1" minor="0" />
    <bindings>
      <class ref="order" class="Order" namespace="Shop" />
    </bindings>
    <rule name="Gold" priority="10" active="true">
      <if>
        <compare operator="greater than">
          <lhs><function><classmember classref="order" member="get_Total" sideeffects="false" /></function></lhs>
          <rhs><constant><decimal>100</decimal></constant></rhs>
        </compare>
      </if>
      <then>
        <function>
          <classmember classref="order" member="set_Discount" sideeffects="true">
            <argument><constant><decimal>15</decimal></constant></argument>
          </classmember>
        </function>
      </then>
    </rule>
    <rule name="Silver" priority="0" active="true">
      <if>
        <compare operator="greater than">
          <lhs><function><classmember classref="order" member="get_Total" sideeffects="false" /></function></lhs>
          <rhs><constant><decimal>50</decimal></constant></rhs>
        </compare>
      </if>
      <then>
        <function>
          <classmember classref="order" member="set_Discount" sideeffects="true">
            <argument><constant><decimal>10</decimal></constant></argument>
          </classmember>
        </function>
      </then>
    </rule>
  </ruleset>
</brl>`

// Example runs BizTalk's priority example on a Go fact.
func Example() {
	doc, err := brl.Parse([]byte(priorityPolicy))
	if err != nil {
		panic(err)
	}
	reg := rules.NewRegistry()
	if err := reg.RegisterType("Shop.Order", &Order{}); err != nil {
		panic(err)
	}
	policy, err := rules.Translate(doc.Document.Rulesets[0], reg, nil)
	if err != nil {
		panic(err)
	}
	order := &Order{Total: 120}
	res, err := policy.Execute(context.Background(), order)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d rules fired; discount %.0f%%\n", res.Firings, order.Discount)
	// Output: 2 rules fired; discount 10%
}
