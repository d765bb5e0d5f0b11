using System.Globalization;
using System.Text;

namespace NetDsl.Generators.Emit;

/// <summary>Writes C# source line by line with four-space indentation and "\n" line ends.</summary>
internal sealed class IndentedWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public IndentedWriter Line(string line = "")
    {
        if (line.Length > 0) _text.Append(' ', _depth * 4).Append(line);
        _text.Append('\n');
        return this;
    }

    public IndentedWriter Lines(string block)
    {
        foreach (var line in block.Replace("\r\n", "\n").Split('\n')) Line(line);
        return this;
    }

    public IndentedWriter Open(string header)
    {
        Line(header);
        Line("{");
        _depth++;
        return this;
    }

    /// <summary>One level deeper without a brace (a switch section's body).</summary>
    public IndentedWriter Indent()
    {
        _depth++;
        return this;
    }

    public IndentedWriter Dedent()
    {
        _depth--;
        return this;
    }

    public IndentedWriter Open()
    {
        Line("{");
        _depth++;
        return this;
    }

    public IndentedWriter Close(string suffix = "")
    {
        _depth--;
        Line("}" + suffix);
        return this;
    }

    public override string ToString() => _text.ToString();

    public static string I(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A float literal that round-trips exactly.</summary>
    public static string F(double value)
    {
        float f = (float)value;
        string s = f.ToString("R", CultureInfo.InvariantCulture);
        if (s.IndexOf('E') < 0 && s.IndexOf('.') < 0) s += ".0";
        return s + "f";
    }
}
