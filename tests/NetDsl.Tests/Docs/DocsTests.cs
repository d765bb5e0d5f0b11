using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Package;
using Xunit;

namespace NetDsl.Tests.Docs;

/// <summary>The documentation against the code: the DSL reference names every attribute property, the C# blocks of
/// README.md and docs/*.md compile (with the generator), and the package's pinned versions match the build's.</summary>
public class DocsTests
{
    private static string Repo(params string[] parts) => Path.Combine([PackedFeed.RepoRoot, .. parts]);

    /// <summary>"### Name" sections of a markdown file: heading's first word → the section's text.</summary>
    private static Dictionary<string, string> Sections(string markdown)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        var lines = new List<string>();
        foreach (var line in markdown.Split('\n').Append("### end"))
        {
            if (line.StartsWith("### ", StringComparison.Ordinal) || line.StartsWith("## ", StringComparison.Ordinal))
            {
                if (current is not null) sections[current] = string.Join('\n', lines);
                current = line.StartsWith("### ", StringComparison.Ordinal) ? line[4..].Trim().Split(' ')[0].Trim('`') : null;
                lines.Clear();
                continue;
            }
            lines.Add(line);
        }
        return sections;
    }

    [Fact]
    public void TheDslReferenceDocumentsEveryAttributeAndEveryProperty()
    {
        var sections = Sections(File.ReadAllText(Repo("docs", "dsl-reference.md")));
        var attributes = typeof(NetworkAttribute).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == "NetDsl" && typeof(Attribute).IsAssignableFrom(t))
            .ToList();
        Assert.Contains(typeof(NetworkAttribute), attributes);
        Assert.Contains(typeof(Conv2DAttribute), attributes);
        var missing = new List<string>();
        foreach (var type in attributes)
        {
            string name = type.Name[..^"Attribute".Length];
            if (!sections.TryGetValue(name, out var text)) { missing.Add($"section '### {name}' for {type.Name}"); continue; }
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                if (!text.Contains($"`{property.Name}`", StringComparison.Ordinal))
                    missing.Add($"`{property.Name}` in section '### {name}' ({type.Name}.{property.Name})");
        }
        foreach (var value in Enum.GetNames<Init>())
            if (!sections["Init"].Contains($"`{value}`", StringComparison.Ordinal)) missing.Add($"`{value}` in section '### Init'");
        Assert.True(missing.Count == 0, "docs/dsl-reference.md lacks:\n" + string.Join('\n', missing));
    }

    public static TheoryData<string, int> CSharpBlocks()
    {
        var data = new TheoryData<string, int>();
        // docs/diagnostics.md is left out: its blocks are networks with the very bugs its diagnostics report.
        foreach (var file in new[] { "README.md" }.Concat(Directory.GetFiles(Repo("docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)))
                     .Where(f => f != "docs/diagnostics.md").Order())
        {
            var blocks = Blocks(File.ReadAllText(Repo(file.Split('/'))));
            for (int i = 0; i < blocks.Count; i++) data.Add(file, i);
        }
        return data;
    }

    /// <summary>The ```csharp blocks of a markdown file (```csharp fragment blocks are excerpts and left out).</summary>
    private static List<string> Blocks(string markdown) =>
        Regex.Matches(markdown, @"^```csharp[ \t]*\r?\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)
            .Select(m => m.Groups[1].Value).ToList();

    /// <summary>Each C# block compiles on its own as a program, with the generator: a block with top-level statements is the
    /// program, others are compiled as a library. Only NetDsl's assembly and the BCL are referenced, so the usings a block
    /// shows are the usings it needs.</summary>
    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void EveryCSharpBlockInTheDocsCompiles(string file, int index)
    {
        string code = Blocks(File.ReadAllText(Repo(file.Split('/'))))[index];
        var tree = CSharpSyntaxTree.ParseText(code, CompilerHarness.ParseOptions);
        bool program = tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax>().Any();
        var compilation = CompilerHarness.Compile(code).WithOptions(new CSharpCompilationOptions(
            program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        CompilerHarness.Driver(track: false).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var errors = generatorDiagnostics.Concat(output.GetDiagnostics())
            .Where(d => d.Severity == DiagnosticSeverity.Error || d.Id.StartsWith("NDSL", StringComparison.Ordinal) && d.Severity == DiagnosticSeverity.Warning)
            .ToList();
        Assert.True(errors.Count == 0, $"{file}, C# block {index + 1}:\n{string.Join('\n', errors)}\n---\n{code}");
    }

    [Fact]
    public void ThePackagesRequiredRoslynIsTheOneTheGeneratorIsBuiltAgainst()
    {
        var central = XDocument.Load(Repo("Directory.Packages.props"));
        string roslyn = central.Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == "Microsoft.CodeAnalysis.CSharp").Attribute("Version")!.Value;
        string required = XDocument.Load(Repo("src", "NetDsl", "build", "NetDsl.props")).Descendants("NetDslRequiredCompilerApi").Single().Value;
        Assert.Equal(string.Join('.', roslyn.Split('.').Take(2)), required);
    }

    [Fact]
    public void TheTemplatesReferenceThePackageVersionThatIsBuilt()
    {
        string version = XDocument.Load(Repo("Directory.Build.props")).Descendants("Version").Single().Value;
        foreach (var template in Directory.GetFiles(Repo("templates", "NetDsl.Templates", "content"), "template.json", SearchOption.AllDirectories))
        {
            var match = Regex.Match(File.ReadAllText(template), "\"NetDslVersion\"[^}]*\"defaultValue\":\\s*\"([^\"]+)\"");
            Assert.True(match.Success, $"{template}: no NetDslVersion symbol");
            Assert.Equal(version, match.Groups[1].Value);
        }
    }
}
