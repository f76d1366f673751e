package bam

// DataType is a checkpoint's type, as BAM definitions spell it.
type DataType string

// The checkpoint types. A DATETIME checkpoint is a milestone; the others
// are business data.
const (
	DateTime DataType = "DATETIME"
	NVarChar DataType = "NVARCHAR"
	Int      DataType = "INT"
	Float    DataType = "FLOAT"
	Decimal  DataType = "DECIMAL"
)

// Definition is a BAM definition document (<BAMDefinition>), as Excel's BAM
// add-in exports it and bm.exe deploys it: activities, and the views and
// cubes over them. Parse it with ParseDefinition; write it with
// Definition.Export. A Definition is a plain value: the Store copies what
// it keeps.
type Definition struct {
	Activities []Activity
	Views      []View
	Cubes      []Cube
	// Alerts is the <Alerts> element as written, in a compact canonical
	// form: kept and exported, not run (BizTalk runs alerts on SQL Server
	// Notification Services, which has no counterpart here). Empty when
	// the document has none.
	Alerts string
	// Extensions are the <Extension> elements (Excel's pivot table
	// layouts, for one) in the same compact canonical form, kept and
	// exported as they are.
	Extensions []string
}

// Activity is a BAM activity: the columns of one activity instance record.
type Activity struct {
	Name, ID    string
	Checkpoints []Checkpoint
	// Indexes are the extra indexes the definition asks for, kept for
	// export (every checkpoint can be queried here without one).
	Indexes []Index
}

// Checkpoint is one column of an activity: a milestone (DATETIME) or a
// data item.
type Checkpoint struct {
	Name, ID string
	Type     DataType
	// Length is an NVARCHAR's maximum length in characters (1 to 4,000);
	// 0 for other types. An NVARCHAR without DataLength gets 50.
	Length int
}

// Index is an <Index> of an activity: the IDs of the checkpoints it spans.
type Index struct {
	Name, ID       string
	CheckpointRefs []string
}

// View is a BAM view: what one audience sees of one or more activities.
type View struct {
	Name, ID      string
	ActivityViews []ActivityView
}

// ActivityView is a view's window on one activity: aliases and durations.
type ActivityView struct {
	Name, ID    string
	ActivityRef string // the activity's ID
	Aliases     []Alias
	Durations   []Duration
}

// Alias renames checkpoints for a view. An alias of several milestones is a
// milestone group: its value is the latest of them that is set (the
// "decision time" of an order either approved or denied).
type Alias struct {
	Name, ID       string
	CheckpointRefs []string // checkpoint IDs
}

// Duration is the time between two milestone aliases of a view, in
// TimeResolution units ("Day", "Hour", "Minute", "Second").
type Duration struct {
	Name, ID       string
	TimeResolution string
	FromAliasRef   string
	ToAliasRef     string
}

// Cube is an aggregation over one activity view: measures and dimensions,
// and the real-time aggregations kept over them.
type Cube struct {
	Name, ID        string
	ActivityViewRef string
	// CreateOlapCube says whether the cube is a scheduled aggregation
	// (computed on demand by Store.ComputeCube). Defaults to true.
	CreateOlapCube bool
	Measures       []Measure
	Dimensions     []Dimension
	RTAs           []RealTimeAggregation
}

// Measure is an aggregated value of a cube: AggregationFunction "Sum",
// "Count", "Avg", "Min" or "Max" of an alias or duration.
type Measure struct {
	Name, ID            string
	AliasRef            string
	AggregationFunction string
}

// DimensionKind is the kind of a cube dimension.
type DimensionKind string

// The dimension kinds, named as their elements.
const (
	DataDimension         DimensionKind = "DataDimension"
	TimeDimension         DimensionKind = "TimeDimension"
	NumericRangeDimension DimensionKind = "NumericRangeDimension"
	ProgressDimension     DimensionKind = "ProgressDimension"
)

// Dimension is one dimension of a cube; which fields apply depends on Kind.
type Dimension struct {
	Kind     DimensionKind
	Name, ID string
	// Levels are a data dimension's alias IDs, outermost first.
	Levels []string
	// TimeLevels are a time dimension's levels ("Year", "Month", ...).
	TimeLevels []TimeLevel
	// AliasRef is a time dimension's TimeStampAliasRef or a numeric range
	// dimension's NumericAliasRef.
	AliasRef string
	// Ranges are a numeric range dimension's ranges.
	Ranges []Range
	// Stage is a progress dimension's root stage.
	Stage *Stage
}

// TimeLevel is one level of a time dimension: Part is "Year", "Quarter",
// "Month", "Week", "Day", "Hour" or "Minute"; Name is optional.
type TimeLevel struct {
	Part, Name string
}

// Range is one range of a numeric range dimension: From inclusive, To
// exclusive, either open when nil.
type Range struct {
	Name, ID string
	From, To *float64
}

// Stage is a progress stage: an instance is in the stage when the stage's
// milestone alias is set, and in the deepest, latest such stage of the
// tree.
type Stage struct {
	Name, ID string
	AliasRef string // TimeStampAliasRef
	Stages   []Stage
}

// RealTimeAggregation (RTA) is a cube slice kept up to date in the commit of
// every event: its measures by its dimensions.
type RealTimeAggregation struct {
	Name, ID   string
	Measures   []string // measure IDs
	Dimensions []string // dimension IDs
}

// BizTalk's BAM limits (BizTalk Server documentation, "BAM Infrastructure
// Limitations", and the BAM definition schema).
const (
	// MaxCheckpoints is the number of checkpoints an activity may have.
	MaxCheckpoints = 1000
	// MaxActivityRefs is the number of activity views (activity
	// references) a view may have.
	MaxActivityRefs = 128
	// MaxDataLength is an NVARCHAR checkpoint's largest length.
	MaxDataLength = 4000
	// MaxRTALevels is the number of dimension levels a real-time
	// aggregation may span.
	MaxRTALevels = 14
	// MaxIndexes is the number of indexes an activity may have.
	MaxIndexes = 245
)

// Name length limits, per name kind of the schema.
const (
	maxActivityName = 48  // activities, views, real-time aggregations
	maxActViewName  = 52  // activity views
	maxSQLName      = 100 // checkpoints, durations, indexes
	maxAliasName    = 50  // aliases
	maxAnalysisName = 20  // cubes, measures, dimensions, ranges, stages
	defaultNVarChar = 50
)
