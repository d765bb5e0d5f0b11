using System;
using System.IO;
using System.Linq;
using NetDsl.Generators.Families;
using NetDsl.Generators.Model;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>
/// A layer kind is either complete or a failing test: every layer attribute has a family, and every kind has a golden or
/// gradient-check network (so its passes are checked against an independent truth), an entry in the fuzzer, and a row in
/// README's layer table. Adding an attribute without the rest fails here, not silently in a user's build.
/// </summary>
public class FamilyRegistryTests
{
    private static readonly string[] Attributes = typeof(LayerAttribute).Assembly.GetExportedTypes()
        .Where(t => t.IsSubclassOf(typeof(LayerAttribute)) && !t.IsAbstract)
        .Select(t => t.Name.Substring(0, t.Name.Length - "Attribute".Length))
        .OrderBy(n => n, StringComparer.Ordinal).ToArray();

    public static TheoryData<string> AttributeNames() => new(Attributes);

    [Fact]
    public void EveryKindHasExactlyOneFamily()
    {
        foreach (LayerKind kind in Enum.GetValues(typeof(LayerKind)))
        {
            if (kind == LayerKind.Unknown) continue;
            Assert.True(LayerFamilies.All.Count(f => f.Kinds.Contains(kind)) == 1, $"{kind}: expected exactly one family in LayerFamilies.All");
        }
        Assert.Equal(Enum.GetValues(typeof(LayerKind)).Length - 1, Attributes.Length);
    }

    [Fact]
    public void LayerKindsConstantsNameEveryAttribute()
    {
        var constants = typeof(LayerKinds).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(Attributes, constants);
        foreach (var f in typeof(LayerKinds).GetFields()) Assert.Equal(f.Name, (string)f.GetRawConstantValue()!);
    }

    [Theory]
    [MemberData(nameof(AttributeNames))]
    public void AttributeIsComplete(string attribute)
    {
        var kind = LayerFamilies.KindOf(attribute);
        Assert.True(kind != LayerKind.Unknown, $"[{attribute}] has no layer family: add its kind to a family's Kinds (generators/NetDsl.Generators/Families)");
        Assert.True(CheckedKinds.Value.Contains(attribute),
            $"[{attribute}] is in no golden or gradient-check network (tests/NetDsl.Tests/Networks): its passes are checked against nothing");
        Assert.True(FuzzTests.Layers.Any(l => l.Attribute == attribute), $"[{attribute}] is not in FuzzTests.Layers");
        Assert.True(ReadmeLayerRow.Value.Contains("`" + attribute), $"[{attribute}] has no entry in README's layer table");
    }

    /// <summary>The kinds that occur in the generated golden and gradient-check networks of this assembly.</summary>
    private static readonly Lazy<string[]> CheckedKinds = new(() => typeof(FamilyRegistryTests).Assembly.GetTypes()
        .Where(t => t.Namespace == "NetDsl.Tests.Networks" && typeof(INetwork).IsAssignableFrom(t) && (t.Name.StartsWith("Golden") || t.Name.StartsWith("GradCheck")))
        .SelectMany(t =>
        {
            var net = (INetwork)Activator.CreateInstance(t, 2, 1, 1)!;
            var kinds = net.Layers.ToArray().Select(l => l.Kind).ToArray();
            (net as IDisposable)?.Dispose();
            return kinds;
        })
        .Distinct().ToArray());

    /// <summary>The "layers" row of README's table.</summary>
    private static readonly Lazy<string> ReadmeLayerRow = new(() =>
    {
        string dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "README.md"))) dir = Path.GetDirectoryName(dir)!;
        Assert.NotNull(dir);
        return File.ReadAllLines(Path.Combine(dir, "README.md")).First(l => l.StartsWith("| layers |"));
    });
}
